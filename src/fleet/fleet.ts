// Fleet mode: one agent runs every dataplane described in a directory, each supervised on its own
// (its Envoy, bootstrap, restarts, crash-loop limit, sockets), the process-wide parts once.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Agent, Member } from '../agent/agent.js';
import type { CapturedSignals } from '../agent/signals.js';
import type { DataplaneSpec } from '../dataplane/dataplane.js';
import { UserError } from '../errors.js';
import { listDataplaneFiles, readDataplaneFile } from './files.js';

/** Files change in bursts (an editor's save, a config tool's rename): act once they settle. */
const SETTLE_MS = 250;

export interface FleetOptions {
  readonly dir: string;
  readonly agent: Agent;
  readonly signals: CapturedSignals;
  /** Turns a file's flags into a checked dataplane (reads its template, token, Envoy): the CLI's edge. */
  readonly check: (flags: Readonly<Record<string, unknown>>) => Promise<DataplaneSpec>;
}

interface Slot {
  readonly hash: string;
  /** Undefined when the file is bad or its dataplane could not start: said once, in the log. */
  readonly member?: Member;
  /** The dataplane ended by itself (a crash loop, its app's exit): it stays down until its file changes or SIGHUP. */
  ended?: boolean;
}

/** Runs the fleet until SIGTERM/SIGINT; resolves with the code to exit with. */
export async function runFleet({ dir, agent, signals, check }: FleetOptions): Promise<number> {
  const { logger } = agent;
  const slots = new Map<string, Slot>();
  let stopping = false;
  let queue = Promise.resolve();
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const stopMember = async (member: Member | undefined) => {
    if (!member) return;
    member.dataplane.signal('SIGTERM');
    await member.done;
    agent.forget(member.key);
  };

  const start = async (file: string, hash: string): Promise<Slot> => {
    try {
      const { flags } = readDataplaneFile(file);
      const spec = await check(flags);
      const key = path.basename(file);
      const { mesh, name } = spec.config.dataplane;
      const clash = agent.members.find((member) => member.key !== key && member.mesh === mesh && member.name === name);
      if (clash) throw new UserError(`${file}: dataplane ${mesh}/${name} is already run from ${clash.key}`);
      const readinessPort = flags['readiness-port'] === undefined ? undefined : spec.config.readinessPort;
      const member = await agent.add(key, spec, { readinessPort, logger: logger.child({ mesh, name, file: key }) });
      const slot: Slot = { hash, member };
      void member.done.then((code) => {
        if (stopping || slots.get(file) !== slot) return;
        slot.ended = true;
        logger.error({ event: 'dataplane-ended', mesh, name, file: key, exitCode: code }, 'dataplane ended; it stays stopped until its file changes or kuma-dp gets SIGHUP');
      });
      return slot;
    } catch (error) {
      const message = error instanceof UserError ? error.message : `${file}: ${(error as Error).message}`;
      logger.error({ event: 'dataplane-file-rejected', file: path.basename(file) }, message);
      return { hash };
    }
  };

  const reconcile = (restartEnded: boolean) => {
    queue = queue.then(async () => {
      if (stopping) return;
      let files: string[];
      try {
        files = listDataplaneFiles(dir);
      } catch (error) {
        logger.error({ event: 'dataplanes-dir-unreadable', dir, err: (error as NodeJS.ErrnoException).code ?? (error as Error).message }, 'cannot read --dataplanes-dir');
        return;
      }
      for (const [file, slot] of slots) {
        if (files.includes(file)) continue;
        slots.delete(file);
        logger.info({ event: 'dataplane-removed', file: path.basename(file) }, 'dataplane file removed: stopping its dataplane');
        await stopMember(slot.member);
      }
      for (const file of files) {
        let hash: string;
        try {
          hash = readDataplaneFile(file).hash;
        } catch {
          hash = 'unreadable';
        }
        const slot = slots.get(file);
        if (slot && slot.hash === hash && !(restartEnded && slot.ended)) continue;
        if (slot) await stopMember(slot.member);
        if (stopping) return;
        slots.set(file, await start(file, hash));
      }
    });
    return queue;
  };

  let settle: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, () => {
      clearTimeout(settle);
      settle = setTimeout(() => void reconcile(false), SETTLE_MS);
    });
  } catch (error) {
    throw new UserError(`cannot watch --dataplanes-dir ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }

  const running = () => [...slots.values()].flatMap((slot) => (slot.member && !slot.ended ? [slot.member] : []));
  let stopped: Member[] | undefined;
  const stopAll = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal skips the drains, a third kills: as for one dataplane, for each.
      for (const member of stopped ?? []) member.dataplane.signal(signal);
      return;
    }
    stopping = true;
    watcher.close();
    clearTimeout(settle);
    agent.beginStop();
    await queue;
    stopped = running();
    for (const member of stopped) member.dataplane.signal(signal);
    const codes = await Promise.all(stopped.map((member) => member.done));
    finish(Math.max(0, ...codes));
  };

  signals.deliverTo((signal) => {
    if (signal === 'SIGTERM' || signal === 'SIGINT') void stopAll(signal);
    else if (signal === 'SIGHUP') {
      logger.info({ event: 'dataplanes-reload' }, 'SIGHUP: reading --dataplanes-dir again');
      void reconcile(true);
    } else for (const member of agent.members) member.dataplane.signal(signal);
  });
  await reconcile(false);
  if (slots.size === 0) logger.warn({ event: 'dataplanes-dir-empty', dir }, 'no dataplane files in --dataplanes-dir yet; waiting for some');
  return finished;
}
