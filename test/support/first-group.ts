/**
 * The first capture group of `re` in `text`. Throws, naming the pattern, when `re` does not match
 * or the group did not take part in the match, so a test fails at the page that lacked it rather than later.
 */
export function firstGroup(re: RegExp, text: string): string {
  const group = re.exec(text)?.[1];
  if (group === undefined) throw new Error(`no match for ${String(re)} in the page`);
  return group;
}
