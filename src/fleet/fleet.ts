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
/** Dataplanes started (or checked, or stopped) at once: enough to overlap their waits, few enough for a small host. */
const STARTS_AT_ONCE = 16;

/** fn over every item, at most `limit` at a time; the results in the items' order. */
async function eachAtOnce<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

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

  /** A file whose dataplane cannot run: said once, and its slot holds no dataplane until the file changes. */
  const rejected = (file: string, hash: string, error: unknown): Slot => {
    const message = error instanceof UserError ? error.message : `${file}: ${(error as Error).message}`;
    logger.error({ event: 'dataplane-file-rejected', file: path.basename(file) }, message);
    return { hash };
  };

  /** The file's dataplane, checked (its template, token and Envoy read): the slow part of a start, done for all at once. */
  const prepare = async (file: string): Promise<{ spec: DataplaneSpec; flags: Readonly<Record<string, unknown>> }> => {
    const { flags } = readDataplaneFile(file);
    return { spec: await check(flags), flags };
  };

  const start = async (file: string, hash: string, prepared: Awaited<ReturnType<typeof prepare>>): Promise<Slot> => {
    const { spec, flags } = prepared;
    const key = path.basename(file);
    const { mesh, name } = spec.config.dataplane;
    try {
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
      return rejected(file, hash, error);
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
      const changed: Array<{ file: string; hash: string }> = [];
      for (const file of files) {
        let hash: string;
        try {
          hash = readDataplaneFile(file).hash;
        } catch {
          hash = 'unreadable';
        }
        const slot = slots.get(file);
        if (slot && slot.hash === hash && !(restartEnded && slot.ended)) continue;
        changed.push({ file, hash });
      }
      // Out of the slots before they stop: their end is asked for, not a dataplane that ended by itself.
      const previous = changed.map(({ file }) => {
        const member = slots.get(file)?.member;
        slots.delete(file);
        return member;
      });
      // Dataplanes start side by side (a host's bookinfo at once, not one after another), a few at a time.
      await eachAtOnce(previous, STARTS_AT_ONCE, stopMember);
      if (stopping) return;
      const prepared = await eachAtOnce(changed, STARTS_AT_ONCE, ({ file }) => prepare(file).then((ready) => ({ ready }), (error: unknown) => ({ error })));
      // Which file runs a dataplane two files name is decided in the files' order, as if started one by one.
      const claimed = new Map(agent.members.map((member) => [`${member.mesh}/${member.name}`, member.key]));
      const starts = changed.map(({ file, hash }, i) => {
        const outcome = prepared[i]!;
        if ('error' in outcome) return rejected(file, hash, outcome.error);
        const { mesh, name } = outcome.ready.spec.config.dataplane;
        const owner = claimed.get(`${mesh}/${name}`);
        if (owner !== undefined) return rejected(file, hash, new UserError(`${file}: dataplane ${mesh}/${name} is already run from ${owner}`));
        claimed.set(`${mesh}/${name}`, path.basename(file));
        return () => start(file, hash, outcome.ready);
      });
      const slotsStarted = await eachAtOnce(starts, STARTS_AT_ONCE, async (next) => (typeof next === 'function' ? next() : next));
      changed.forEach(({ file }, i) => slots.set(file, slotsStarted[i]!));
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
