import { isMap, isScalar, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { ADMIN_METADATA } from './admin-metadata.js';

interface Edit {
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

type Entry = readonly [key: string, value: string | readonly Entry[]];

const LOOPBACK = '127.0.0.1';

/**
 * The bootstrap text with Envoy's admin on 127.0.0.1:port and its node metadata saying so, every
 * other byte as kuma-cp wrote it: the edits are spliced into the source instead of printing the
 * document again, which would restyle what it does not change (block scalars such as
 * `dataplane.resource`). Undefined for a layout this does not edit in place (flow-style maps); the
 * caller then prints the document.
 */
export function spliceTcpAdmin(text: string, doc: Document, port: number, snakeCase: boolean): string | undefined {
  const top = doc.contents;
  if (!isMap(top) || top.flow) return undefined;
  const admin = adminEdits(text, top, port, snakeCase);
  const metadata = metadataEdits(text, top, port);
  if (!admin || !metadata) return undefined;
  let out = text;
  for (const edit of [...admin, ...metadata].sort((a, b) => b.from - a.from)) out = out.slice(0, edit.from) + edit.text + out.slice(edit.to);
  return out;
}

const keyOf = (pair: Pair) => (isScalar(pair.key) ? String(pair.key.value) : undefined);
const valueOf = (map: YAMLMap, ...keys: string[]) => map.items.find((pair) => keys.includes(keyOf(pair) ?? ''))?.value as Node | null | undefined;
const blockMap = (node: unknown): node is YAMLMap => isMap(node) && !node.flow && node.range !== undefined;

function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** The start of the line after the one where `offset` lies (or `offset` itself when it starts a line). */
function nextLine(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset;
  const newline = text.indexOf('\n', offset);
  return newline < 0 ? text.length : newline + 1;
}

/** Where a line may go after the map's last entry. */
function endOfMap(text: string, map: YAMLMap): number {
  const last = map.items.at(-1)?.value as Node | null | undefined;
  return nextLine(text, last?.range?.[1] ?? map.range![1]);
}

function render(indent: number, entries: readonly Entry[]): string {
  const pad = ' '.repeat(indent);
  return entries.map(([key, value]) => (typeof value === 'string' ? `${pad}${key}: ${value}\n` : `${pad}${key}:\n${render(indent + 2, value)}`)).join('');
}

function socketAddress(port: number, snakeCase: boolean): Entry {
  return [snakeCase ? 'socket_address' : 'socketAddress', [['address', LOOPBACK], [snakeCase ? 'port_value' : 'portValue', String(port)]]];
}

/** The scalar's source replaced by the value, quoted as it was; none when it already says so. */
function scalarEdits(node: Node | null | undefined, value: string): Edit[] | undefined {
  if (!isScalar(node) || !node.range) return undefined;
  if (String(node.value) === value) return [];
  const text = node.type === 'QUOTE_DOUBLE' ? JSON.stringify(value) : node.type === 'QUOTE_SINGLE' ? `'${value}'` : value;
  return [{ from: node.range[0], to: node.range[1], text }];
}

function adminEdits(text: string, top: YAMLMap, port: number, snakeCase: boolean): Edit[] | undefined {
  const admin = valueOf(top, 'admin');
  if (admin === undefined || admin === null) {
    // kuma-cp sorts its keys, so admin comes first.
    const at = top.range![0];
    return [{ from: at, to: at, text: render(column(text, at), [['admin', [['address', [socketAddress(port, snakeCase)]]]]]) }];
  }
  if (!blockMap(admin)) return undefined;
  const address = valueOf(admin, 'address');
  if (address === undefined || address === null) {
    const at = endOfMap(text, admin);
    return [{ from: at, to: at, text: render(column(text, admin.range![0]), [['address', [socketAddress(port, snakeCase)]]]) }];
  }
  if (!blockMap(address)) return undefined;
  const socket = valueOf(address, 'socketAddress', 'socket_address');
  if (blockMap(socket)) {
    const host = scalarEdits(valueOf(socket, 'address'), LOOPBACK);
    const portValue = scalarEdits(valueOf(socket, 'portValue', 'port_value'), String(port));
    return host && portValue ? [...host, ...portValue] : undefined;
  }
  // A pipe (kuma-cp 2.14+): a socket address takes its place, at its indentation.
  const [from, end] = address.range!;
  const to = text[end - 1] === '\n' ? end - 1 : end;
  const indent = column(text, from);
  return [{ from, to, text: render(indent, [socketAddress(port, snakeCase)]).slice(indent, -1) }];
}

function metadataEdits(text: string, top: YAMLMap, port: number): Edit[] | undefined {
  const wanted: Array<[key: string, value: string, rendered: string]> = [
    [ADMIN_METADATA.port, String(port), JSON.stringify(String(port))],
    [ADMIN_METADATA.address, LOOPBACK, LOOPBACK],
  ];
  const rendered = wanted.map(([key, , shown]): Entry => [key, shown]);
  const node = valueOf(top, 'node');
  if (node === undefined || node === null) {
    const at = text.length;
    return [{ from: at, to: at, text: `${text.endsWith('\n') ? '' : '\n'}${render(column(text, top.range![0]), [['node', [['metadata', rendered]]]])}` }];
  }
  if (!blockMap(node)) return undefined;
  const metadata = valueOf(node, 'metadata');
  if (metadata === undefined || metadata === null) {
    const at = endOfMap(text, node);
    return [{ from: at, to: at, text: render(column(text, node.range![0]), [['metadata', rendered]]) }];
  }
  if (!blockMap(metadata)) return undefined;
  const edits: Edit[] = [];
  const missing: Entry[] = [];
  for (const [key, value, shown] of wanted) {
    const current = valueOf(metadata, key);
    if (current === undefined) {
      missing.push([key, shown]);
      continue;
    }
    const edit = scalarEdits(current, value);
    if (!edit) return undefined;
    edits.push(...edit);
  }
  if (missing.length > 0) {
    const at = endOfMap(text, metadata);
    edits.push({ from: at, to: at, text: render(column(text, metadata.range![0]), missing) });
  }
  const socketPath = metadata.items.find((pair) => keyOf(pair) === ADMIN_METADATA.socketPath);
  if (socketPath) {
    // The whole entry: from its line's start to the end of its value's line.
    const from = text.lastIndexOf('\n', (socketPath.key as Node).range![0] - 1) + 1;
    edits.push({ from, to: nextLine(text, (socketPath.value as Node).range![1]), text: '' });
  }
  return edits;
}
