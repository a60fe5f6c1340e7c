import YAML from 'yaml';
import { UserError } from '../errors.js';
import { parseDataplaneName, parseMeshName } from './names.js';

/** Values for a Dataplane template's {{ key }} placeholders. */
export type TemplateVars = Readonly<Record<string, string>>;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/** A Dataplane resource ready to send: kuma-cp creates (or updates) the Dataplane from it. */
export interface DataplaneResource {
  readonly name: string;
  readonly mesh: string;
  /** The rendered resource as JSON text, the form `dataplaneResource` takes. */
  readonly json: string;
}

/** Fills the placeholders, then checks that the result is a Dataplane with a name and a mesh. */
export function renderDataplane(template: string, vars: TemplateVars, origin: string): DataplaneResource {
  const missing = new Set<string>();
  const text = template.replace(PLACEHOLDER, (_, key: string) => {
    if (Object.hasOwn(vars, key)) return vars[key]!;
    missing.add(key);
    return '';
  });
  if (missing.size > 0) {
    const keys = [...missing];
    throw new UserError(
      `${origin}: no value for ${keys.map((k) => `{{ ${k} }}`).join(', ')}: pass ${keys.map((k) => `-v ${k}=...`).join(' ')}`,
    );
  }
  // Anything left would otherwise surface as a baffling YAML error (e.g. a Go-template `{{ .address }}`).
  const stray = /\{\{[^}]*\}\}/.exec(text);
  if (stray) throw new UserError(`${origin}: "${stray[0]}" is not a placeholder: write {{ key }} and pass -v key=value`);

  // Without YAML 1.1's extra tags: a !!binary, !!set or !!timestamp value has no JSON form
  // kuma-cp would read as the operator meant (a !!binary became a Buffer's JSON).
  const document = YAML.parseDocument(text, { resolveKnownTags: false });
  const [error] = document.errors;
  if (error) throw new UserError(`${origin}: not valid YAML or JSON: ${error.message.split('\n')[0]}`);
  const unresolved = document.warnings.find((warning) => warning.code === 'TAG_RESOLVE_FAILED');
  if (unresolved) {
    const [, tag = '?', where = ''] = /tag: (\S+) at (line \d+, column \d+)/.exec(unresolved.message) ?? [];
    throw new UserError(`${origin}: the YAML tag ${tag.replace('tag:yaml.org,2002:', '!!')} (${where}) is not allowed: write the value as plain YAML`);
  }
  const resource: unknown = document.toJS();
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    throw new UserError(`${origin}: expected a Dataplane resource (a mapping with type, name, mesh, networking)`);
  }
  const fields = resource as Record<string, unknown>;
  if (fields.type !== 'Dataplane') {
    throw new UserError(`${origin}: type is ${fields.type === undefined ? 'missing' : `"${String(fields.type)}"`}; expected type: Dataplane`);
  }
  for (const field of ['name', 'mesh'] as const) {
    const value = fields[field];
    if (typeof value !== 'string' || value.trim() === '') throw new UserError(`${origin}: the resource has no ${field}`);
  }
  return {
    name: parseDataplaneName(fields.name as string, `name in ${origin}`),
    mesh: parseMeshName(fields.mesh as string, `mesh in ${origin}`),
    json: JSON.stringify(resource),
  };
}

export interface DataplaneTemplateInput {
  readonly inline?: string;
  /** A path, or - for stdin. */
  readonly file?: string;
  /** Reads the file (or stdin for -): files are read at the edge, not here. */
  readonly read: (file: string) => string;
  readonly vars?: TemplateVars;
  /** Name and mesh set explicitly (not defaults): they must agree with the resource. */
  readonly name?: string;
  readonly mesh?: string;
}

/** The Dataplane from `--dataplane` or `--dataplane-file`, or undefined when the operator gave neither. */
export function loadDataplaneResource(input: DataplaneTemplateInput): DataplaneResource | undefined {
  if (input.inline !== undefined && input.file !== undefined) {
    throw new UserError('pass either --dataplane or --dataplane-file, not both');
  }
  if (input.inline === undefined && input.file === undefined) {
    if (input.vars && Object.keys(input.vars).length > 0) {
      throw new UserError('--dataplane-var needs a template: pass --dataplane-file or --dataplane');
    }
    return undefined;
  }
  const origin = input.file === undefined ? 'the --dataplane template' : `--dataplane-file ${input.file === '-' ? '(stdin)' : input.file}`;
  const text = input.inline ?? input.read(input.file!);
  const resource = renderDataplane(text, input.vars ?? {}, origin);
  for (const field of ['name', 'mesh'] as const) {
    const given = input[field];
    if (given !== undefined && given !== resource[field]) {
      throw new UserError(`--${field} "${given}" conflicts with ${field} "${resource[field]}" in ${origin}: drop --${field}, the resource names the Dataplane`);
    }
  }
  return resource;
}
