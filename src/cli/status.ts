import type { DataplaneReport, StatusReport } from '../agent/status-report.js';
import { parsePort } from '../config/parse.js';
import { UserError } from '../errors.js';
import { readBody } from '../http/body.js';
import { errorCode, request } from '../http/client.js';

/** A status answer lists a host's dataplanes: far below this. */
const MAX_ANSWER_BYTES = 1024 * 1024;
const TIMEOUT_MS = 3000;

function formatUptime(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

function lastExit(report: DataplaneReport): string {
  if (!report.lastExit) return '-';
  return report.lastExit.signal ? `signal ${report.lastExit.signal}` : `code ${report.lastExit.code}`;
}

/** One line per dataplane, in columns. */
export function statusTable(status: StatusReport): string {
  const rows = [
    ['MESH', 'NAME', 'STATE', 'ENVOY PID', 'UPTIME', 'RESTARTS', 'LAST EXIT'],
    ...status.dataplanes.map((d) => [
      d.mesh,
      d.name,
      d.exitCode === null ? d.state : `ended (exit ${d.exitCode})`,
      d.envoyPid === null ? '-' : String(d.envoyPid),
      formatUptime(d.uptimeSeconds),
      String(d.restarts),
      lastExit(d),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** `kuma-dp status`: asks the agent's readiness endpoint on this host what its dataplanes do. */
export async function status(flags: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const raw = flags['readiness-port'] ?? env.KUMA_READINESS_PORT ?? '9902';
  const port = parsePort(String(raw), flags['readiness-port'] === undefined ? 'KUMA_READINESS_PORT' : '--readiness-port');
  const url = `http://127.0.0.1:${port}/status`;
  let body: string;
  try {
    const answer = await request(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    body = await readBody(answer, MAX_ANSWER_BYTES);
    if (answer.statusCode !== 200) throw new Error(`status ${answer.statusCode}`);
  } catch (error) {
    const why = (error as Error).name === 'TimeoutError' ? 'no answer in time' : errorCode(error);
    throw new UserError(`cannot read the agent's status at ${url}: ${why} (is kuma-dp running with --readiness-port ${port}?)`);
  }
  let report: StatusReport;
  try {
    report = JSON.parse(body) as StatusReport;
    if (!Array.isArray(report.dataplanes)) throw new Error('no dataplanes');
  } catch {
    throw new UserError(`${url} did not answer with kuma-dp's status`);
  }
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : statusTable(report));
}
