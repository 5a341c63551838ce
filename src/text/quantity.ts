/**
 * A count with its noun, as a person reads it: "1 section", "3,939 sections", "2 people".
 * The one helper for plurals in pages, API messages and the CLI, so no text says "section(s)".
 * `many` defaults to `one` + "s"; pass it for nouns that do not take an "s" ("person", "people").
 * Numbers are grouped the en-US way, like the other counts on the pages ("3,939").
 */
export function quantity(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
