import { adminPortDisagreement, applyAdminAddress, formatAdminAddress, type AdminAddress } from '../bootstrap/admin-address.js';
import { fetchBootstrap, type BootstrapClientOptions } from '../bootstrap/client.js';
import type { BootstrapRequest } from '../bootstrap/request.js';
import type { BootstrapResponse } from '../bootstrap/response.js';
import type { Logger } from '../logging/logger.js';
import { spawnChild } from '../process/child.js';
import type { LaunchedEnvoy } from '../supervisor/driver.js';
import { writePrivateFile } from '../system/private-file.js';
import { EnvoyAdmin } from './admin-client.js';
import { assertAdminAddressFree } from './admin-port.js';
import { envoyLineLevel } from './log-lines.js';
import { recordEnvoy } from './pidfile.js';
import { watchEnvoy } from './watch.js';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The bootstrap an Envoy was started with, and the admin address it really has. */
export interface AppliedBootstrap {
  readonly response: BootstrapResponse;
  readonly admin: AdminAddress;
}

export interface LauncherOptions {
  readonly client: BootstrapClientOptions;
  /** Built per fetch, so a rotated token file is read again. */
  readonly request: () => Promise<BootstrapRequest>;
  readonly adminPort?: number;
  /** Where kuma-dp's readiness endpoint listens: Envoy's admin cannot have it too. */
  readonly readinessPort?: number;
  readonly bootstrapPath: string;
  readonly pidfile: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly setpriv?: string;
  readonly logger: Logger;
  /** Told of every bootstrap an Envoy is started with: the side components read it. */
  readonly onBootstrap: (applied: AppliedBootstrap) => void;
}

/**
 * Gets Envoy going: a fresh bootstrap (on a restart, the last good one when the control plane is
 * out of reach), the admin address enforced, the file written privately, Envoy spawned.
 */
export function createLauncher(options: LauncherOptions): (restart: number, signal: AbortSignal) => Promise<LaunchedEnvoy> {
  const { logger } = options;
  let lastGood: BootstrapResponse | undefined;

  const bootstrap = async (restart: number, signal: AbortSignal): Promise<BootstrapResponse> => {
    if (restart === 0 || !lastGood) return fetchBootstrap(await options.request(), options.client, signal);
    try {
      // A crashed Envoy is waiting: one attempt, not minutes of retries.
      return await fetchBootstrap(await options.request(), { ...options.client, retryMaxDurationMs: 0 }, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      logger.warn({ event: 'bootstrap-fallback', reason: (error as Error).message }, 'cannot fetch a fresh bootstrap; restarting Envoy with the last good one');
      return lastGood;
    }
  };

  return async (restart, signal) => {
    const response = await bootstrap(restart, signal);
    lastGood = response;
    const rewrite = applyAdminAddress(response.yaml, options.adminPort, response.document);
    if (rewrite.replaced) {
      logger.info(
        { event: 'admin-address-set', admin: formatAdminAddress(rewrite.admin), controlPlaneAdmin: rewrite.replaced === 'none' ? null : formatAdminAddress(rewrite.replaced) },
        rewrite.replaced === 'none' ? "the bootstrap has no admin address; using the default" : "overriding the control plane's admin address",
      );
    }
    const disagreement = adminPortDisagreement(rewrite, options.adminPort);
    if (disagreement && restart === 0) {
      logger.warn({ event: 'admin-port-disagreement', admin: formatAdminAddress(rewrite.admin), controlPlaneAdminPort: rewrite.controlPlanePort }, disagreement);
    }
    if (rewrite.admin.kind === 'tcp' && !isLoopback(rewrite.admin.host)) {
      logger.warn(
        { event: 'admin-exposed', admin: formatAdminAddress(rewrite.admin) },
        "Envoy's admin API will listen beyond loopback, where others can stop Envoy or read its configuration: pass --admin-port to keep it on 127.0.0.1",
      );
    }
    await assertAdminAddressFree(rewrite.admin, options.readinessPort);
    writePrivateFile(options.bootstrapPath, rewrite.yaml);
    signal.throwIfAborted();
    options.onBootstrap({ response, admin: rewrite.admin });
    const envoyLogger = logger.child({ source: 'envoy' });
    let pid = 0;
    const child = await spawnChild({
      binary: options.binary,
      args: options.args,
      env: options.env,
      setpriv: options.setpriv,
      onLine: (line) => envoyLogger[envoyLineLevel(line)]({ envoyPid: pid }, line),
    });
    pid = child.pid;
    recordEnvoy(options.pidfile, pid, false);
    const admin = new EnvoyAdmin(rewrite.admin);
    let identified = false;
    return {
      pid,
      exited: child.exited,
      kill: (sig) => child.kill(sig),
      drain: (inboundOnly) => admin.drain({ inboundOnly }),
      watch: (onChange) =>
        watchEnvoy(admin, (live) => {
          // Live, Envoy runs its own image: the pidfile can now name it beyond doubt.
          if (live && !identified) {
            identified = true;
            recordEnvoy(options.pidfile, pid, true);
          }
          onChange(live);
        }),
      release: () => admin.close(),
    };
  };
}
