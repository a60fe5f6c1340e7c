#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1 --v8-pool-size=1
// A 1 MiB young generation: an idle agent allocates little, and the default 16 MiB semi-spaces
// were a third of its resident memory. One V8 worker thread instead of four: each one that ran a
// GC or compile task kept a malloc arena; this took ~11 MB off an idle agent and no start time.
// glibc's mmap threshold pinned at its default 128 KiB: freeing one large block otherwise raises it
// (and the trim threshold with it), and in about half the starts a thread's arena then kept ~10 MB
// it no longer used. Envoy and the app inherit the variable; Envoy does not use glibc's malloc.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../errors.js';
import { RUN_SETTINGS } from '../config/settings.js';
import { UNSUPPORTED_SETTINGS } from '../config/unsupported.js';
import { WAIT_SETTINGS } from '../config/wait-config.js';
import { asksForHelp, flagOption, PRECEDENCE, unsupportedOption } from './options.js';

/** A command line yargs cannot make sense of (an unknown flag, no command): exit 2. */
class UsageError extends Error {}

/** The one place errors become exit codes: 2 for usage, 1 for anything else, one line for what the user can fix. */
function fail(error: unknown): never {
  if (error instanceof UsageError || error instanceof UserError) {
    process.stderr.write(`kuma-dp: ${error.message}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  }
  process.stderr.write(`kuma-dp: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}

const selfDir = path.dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const args = hideBin(process.argv);
  // yargs renders a command's whole help once its handler has started (to keep it for a later
  // showHelp): for `run`'s hundred described flags, 60-90 ms of every start, before Envoy's spawn.
  // So `run` describes its flags only when help is asked for; otherwise they are hidden (still
  // known to `.strict()`), and there is next to nothing to render.
  const described = asksForHelp(args);
  await yargs(args)
    .scriptName('kuma-dp')
    .parserConfiguration({ 'populate--': true })
    .command(
      'run',
      'Fetch the bootstrap from kuma-cp, start Envoy and supervise it (kuma-dp run [flags] -- <app> [args]: also start an app once the dataplane is ready)',
      (y) => {
        const hidden = { hidden: !described };
        for (const spec of Object.values(RUN_SETTINGS)) if ('flag' in spec && spec.flag) y.option(spec.flag, { ...flagOption(spec), ...hidden });
        for (const spec of UNSUPPORTED_SETTINGS) if (spec.flag) y.option(spec.flag, { ...unsupportedOption(spec), ...hidden });
        if (!described) return y;
        const envOnly = Object.values(RUN_SETTINGS)
          .filter((spec) => !spec.flag && spec.env.length > 0)
          .map((spec) => `  ${spec.env.join(', ')}${spec.default === undefined ? '' : ` (default ${spec.default})`}: ${spec.describe}`);
        return y.epilogue(`${PRECEDENCE}\nEnvironment-only:\n${envOnly.join('\n')}`);
      },
      async (argv) => {
        const { run } = await import('./run.js');
        process.exit(await run({ flags: argv, env: process.env, cwd: process.cwd(), selfDir, stderrIsTTY: process.stderr.isTTY === true }));
      },
    )
    .command(
      'wait',
      "Block until the dataplane is ready (exit 0), or exit 1 after --timeout",
      (y) => {
        for (const spec of Object.values(WAIT_SETTINGS)) if (spec.flag) y.option(spec.flag, flagOption(spec));
        return y;
      },
      async (argv) => {
        const { wait } = await import('./wait.js');
        await wait(argv);
      },
    )
    .command(
      'status',
      "Show this host's dataplanes: mesh, name, state, Envoy's pid, uptime, restarts, last exit",
      (y) =>
        y
          .option('readiness-port', { type: 'string', describe: "The agent's readiness port [env: KUMA_READINESS_PORT; default: 9902]" })
          .option('json', { type: 'boolean', describe: 'JSON instead of a table' }),
      async (argv) => {
        const { status } = await import('./status.js');
        await status(argv, process.env);
      },
    )
    .command(
      'version',
      'Print the version of kuma-dp',
      (y) => y.option('detailed', { alias: 'a', type: 'boolean', describe: 'Print the build details too' }),
      async (argv) => {
        const { agentBuild, formatVersion } = await import('../version.js');
        process.stdout.write(formatVersion(agentBuild(), argv.detailed === true));
      },
    )
    .demandCommand(1, 'kuma-dp needs a command: run, wait, status or version')
    .strict()
    .version(false)
    .help()
    .epilogue(PRECEDENCE)
    .fail((message, error) => {
      if (error) throw error;
      throw new UsageError(`${message} (see kuma-dp --help)`);
    })
    .parseAsync();
}

main().catch(fail);
