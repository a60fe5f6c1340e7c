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

type Resource = Record<string, unknown>;

/** Fills the placeholders, then checks that the result is a Dataplane with a name and a mesh. */
export function renderDataplane(template: string, vars: TemplateVars, origin: string): DataplaneResource {
  return sendable(parseDataplane(template, vars, origin));
}

function sendable(resource: Resource): DataplaneResource {
  return { name: resource.name as string, mesh: resource.mesh as string, json: JSON.stringify(resource) };
}

function parseDataplane(template: string, vars: TemplateVars, origin: string): Resource {
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
  return { ...fields, name: parseDataplaneName(fields.name as string, `name in ${origin}`), mesh: parseMeshName(fields.mesh as string, `mesh in ${origin}`) };
}

/**
 * kuma-cp 1.8+ takes the admin port from the Dataplane (`networking.admin.port`, else its
 * default), not from the request, and its health checks and admin client read it there: the
 * resource the agent sends must name the port Envoy's admin really gets.
 */
function withAdminPort(resource: Resource, adminPort: number | undefined, origin: string): Resource {
  const networking = resource.networking;
  if (adminPort === undefined || typeof networking !== 'object' || networking === null || Array.isArray(networking)) return resource;
  const admin = (networking as Resource).admin;
  const current = typeof admin === 'object' && admin !== null ? (admin as Resource).port : undefined;
  if (current === undefined || current === null) {
    return { ...resource, networking: { ...networking, admin: { ...(admin as Resource | undefined), port: adminPort } } };
  }
  if (Number(current) !== adminPort) {
    throw new UserError(
      `--admin-port ${adminPort} conflicts with networking.admin.port ${String(current)} in ${origin}: give one of them, or the same port to both`,
    );
  }
  return resource;
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
  /** `--admin-port`: written into the resource, which must not name another. */
  readonly adminPort?: number;
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
  const resource = withAdminPort(parseDataplane(text, input.vars ?? {}, origin), input.adminPort, origin);
  for (const field of ['name', 'mesh'] as const) {
    const given = input[field];
    if (given !== undefined && given !== resource[field]) {
      throw new UserError(`--${field} "${given}" conflicts with ${field} "${String(resource[field])}" in ${origin}: drop --${field}, the resource names the Dataplane`);
    }
  }
  return sendable(resource);
}
