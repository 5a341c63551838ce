import type { JsonSchema, OpenApiDocument } from './openapi-document.js';

/** One field of a body, a query, a path or an answer, as the reference page lists it. */
export interface ReferenceField {
  name: string;
  type: string;
  required: boolean;
  notes: string[];
}

export interface ReferenceOperation {
  anchor: string;
  method: string;
  path: string;
  summary: string;
  description: string | null;
  params: ReferenceField[];
  query: ReferenceField[];
  body: { required: boolean; fields: ReferenceField[] } | null;
  success: { status: string; description: string; schema: string | null };
  errors: Array<{ status: string; description: string }>;
}

export interface ReferenceSchema {
  name: string;
  description: string | null;
  fields: ReferenceField[];
}

/** The reference page's view-model. */
export interface ApiReference {
  title: string;
  version: string;
  groups: Array<{ tag: string; operations: ReferenceOperation[] }>;
  schemas: ReferenceSchema[];
  errorSchema: ReferenceField[];
}

const refName = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1);

/** A short type expression: `string | null`, `"a" | "b"`, `Course[]`, `{ [key]: string }`. */
export function typeOf(s: JsonSchema): string {
  if (typeof s.$ref === 'string') return refName(s.$ref);
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (union) return union.map(typeOf).join(' | ');
  if (Array.isArray(s.enum)) {
    const values = s.enum.map((v) => JSON.stringify(v));
    return Array.isArray(s.type) && s.type.includes('null') ? [...values, 'null'].join(' | ') : values.join(' | ');
  }
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (types.length === 0) return 'any';
  return types
    .map((t) => {
      if (t === 'array') {
        const item = typeOf((s.items as JsonSchema | undefined) ?? {});
        return item.includes(' ') ? `(${item})[]` : `${item}[]`;
      }
      if (t === 'object' && !s.properties && s.additionalProperties && typeof s.additionalProperties === 'object') {
        return `{ [key]: ${typeOf(s.additionalProperties as JsonSchema)} }`;
      }
      return t;
    })
    .join(' | ');
}

function notesOf(s: JsonSchema): string[] {
  const notes: string[] = [];
  if (typeof s.description === 'string') notes.push(s.description);
  if (s.default !== undefined) notes.push(`default ${JSON.stringify(s.default)}`);
  if (s.minLength === 1) notes.push('not empty');
  else if (typeof s.minLength === 'number' && s.minLength > 1) notes.push(`at least ${s.minLength} characters`);
  if (typeof s.maxLength === 'number') notes.push(`at most ${s.maxLength} characters`);
  if (typeof s.minimum === 'number') notes.push(`≥ ${s.minimum}`);
  if (typeof s.maximum === 'number') notes.push(`≤ ${s.maximum}`);
  if (typeof s.minItems === 'number' && s.minItems > 0) notes.push(`at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`);
  if (typeof s.maxItems === 'number') notes.push(`at most ${s.maxItems} items`);
  if (typeof s.pattern === 'string') notes.push(`matches ${s.pattern}`);
  if (typeof s.format === 'string') notes.push(`format ${s.format}`);
  return notes;
}

/** The inline object inside a property (itself, an array's items, or a nullable union's object), if any. */
function inlineObject(s: JsonSchema): { schema: JsonSchema; suffix: string } | undefined {
  if (s.type === 'object' && s.properties) return { schema: s, suffix: '' };
  if (s.type === 'array' && s.items && (s.items as JsonSchema).type === 'object' && (s.items as JsonSchema).properties) {
    return { schema: s.items as JsonSchema, suffix: '[]' };
  }
  const union = s.anyOf as JsonSchema[] | undefined;
  const obj = union?.find((u) => u.type === 'object' && u.properties);
  return obj ? { schema: obj, suffix: '' } : undefined;
}

/** An object's properties as rows; inline nested objects follow their parent as `parent.child` rows. */
export function fieldsOf(s: JsonSchema, prefix = '', depth = 0): ReferenceField[] {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required as string[] | undefined) ?? []);
  const rows: ReferenceField[] = [];
  for (const [name, prop] of Object.entries(props)) {
    const nested = depth < 2 ? inlineObject(prop) : undefined;
    rows.push({ name: prefix + name, type: typeOf(prop), required: required.has(name), notes: notesOf(prop) });
    if (nested) rows.push(...fieldsOf(nested.schema, `${prefix}${name}${nested.suffix}.`, depth + 1));
  }
  return rows;
}

/** Builds the reference page's view-model from the OpenAPI document (one source for both). */
export function apiReference(doc: OpenApiDocument): ApiReference {
  const groups = new Map<string, ReferenceOperation[]>(doc.tags.map((t) => [t.name, []]));
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      // The highest 2xx is the route's own success (202 of a grade post); a lower one declared
      // besides it (the dry run's 200) is listed with the other answers. Status keys iterate ascending.
      const [successStatus, success] = Object.entries(op.responses).filter(([s]) => s.startsWith('2')).at(-1)!;
      const schema = success.content?.['application/json']?.schema;
      const body = op.requestBody?.content['application/json']?.schema;
      const params = (op.parameters ?? []).map((p) => ({ name: p.name, type: typeOf(p.schema), required: p.required, notes: [...(p.description ? [p.description] : []), ...notesOf(p.schema)] }));
      groups.get(op.tags[0]!)!.push({
        anchor: op.operationId,
        method: method.toUpperCase(),
        path,
        summary: op.summary,
        description: op.description ?? null,
        params: params.filter((_, i) => op.parameters![i]!.in === 'path'),
        query: params.filter((_, i) => op.parameters![i]!.in === 'query'),
        body: body ? { required: op.requestBody!.required, fields: fieldsOf(body) } : null,
        success: { status: successStatus, description: success.description, schema: schema ? typeOf(schema) : null },
        errors: Object.entries(op.responses)
          .filter(([s]) => s !== successStatus)
          .map(([status, r]) => ({ status, description: r.description })),
      });
    }
  }
  const schemas = Object.entries(doc.components.schemas)
    .filter(([name]) => name !== 'ErrorResponse')
    .map(([name, s]) => ({ name, description: typeof s.description === 'string' ? s.description : null, fields: fieldsOf(s) }));
  return {
    title: doc.info.title,
    version: doc.info.version,
    groups: [...groups].map(([tag, operations]) => ({ tag, operations })),
    schemas,
    errorSchema: fieldsOf(doc.components.schemas.ErrorResponse!),
  };
}
