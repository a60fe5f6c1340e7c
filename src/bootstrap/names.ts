import { UserError } from '../errors.js';

// kuma-cp's rules (pkg/core/resources/apis/mesh/meta_validator.go): a resource name is a lowercase
// RFC 1123 subdomain; a mesh name keeps the older, looser set (meshes from before the rule exist).
const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MESH_NAME = /^[0-9a-z_.-]+$/;
const MAX_NAME_LENGTH = 253;

function kumaName(pattern: RegExp, rule: string) {
  return (raw: string, source: string): string => {
    const text = raw.trim();
    if (text === '') throw new UserError(`invalid ${source}: must not be empty`);
    if (text.length > MAX_NAME_LENGTH) throw new UserError(`invalid ${source}: longer than ${MAX_NAME_LENGTH} characters`);
    // JSON quoting: control characters in a name must not reach the terminal as they are.
    if (!pattern.test(text)) throw new UserError(`invalid ${source} ${JSON.stringify(raw)}: kuma-cp accepts ${rule}`);
    return text;
  };
}

/** A Dataplane's name as kuma-cp accepts it: never a path separator, `..` or a control character. */
export const parseDataplaneName = kumaName(RESOURCE_NAME, "only lowercase letters, digits, '-' and '.', starting and ending with a letter or digit");
/** A mesh's name as kuma-cp accepts it. */
export const parseMeshName = kumaName(MESH_NAME, "only lowercase letters, digits, '-', '_' and '.'");
