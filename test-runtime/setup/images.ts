// The images of the runtime suite, made without any registry: a Debian base from debootstrap with
// the host's node, the stand-in Envoy, the project's image from templates/Dockerfile on top of
// those, and a systemd image with the units of templates/ installed.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fakeEnvoyBundle, repoRoot } from '../../stand-ins/paths.js';
import { podman, runCommand, type CommandResult } from '../engine.js';
import { aptMirror, debianCodename } from './host.js';

export const IMAGES = {
  base: 'localhost/kuma-dp-runtime/base',
  envoy: 'localhost/kuma-dp-runtime/envoy',
  kumaDp: 'localhost/kuma-dp-runtime/kuma-dp',
  systemd: 'localhost/kuma-dp-runtime/systemd',
} as const;

type Log = (line: string) => void;

function mustSucceed(what: string, result: CommandResult): string {
  if (result.code === 0) return result.stdout;
  const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-40).join('\n');
  throw new Error(`${what} exited ${result.code}:\n${tail}`);
}

async function step<T>(log: Log, what: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const value = await run();
  log(`${what} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  return value;
}

/** Where the host's trusted CAs are (the registry may be reached through a TLS-inspecting proxy). */
function hostCaBundle(): string | undefined {
  return [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find((file): file is string => !!file && existsSync(file));
}

/**
 * The stand-in for node:20-bookworm-slim: debootstrap's minbase of the host's release, plus
 * systemd for the systemd image, plus the host's node and npm (node needs only glibc and
 * libstdc++). npm inside a build trusts what the host trusts.
 */
async function baseImage(engine: Record<string, string>, workDir: string, log: Log): Promise<void> {
  const rootfs = path.join(workDir, 'rootfs');
  const codename = debianCodename();
  const mirror = aptMirror(codename);
  await step(log, `debootstrap ${codename} from ${mirror}`, async () =>
    mustSucceed(
      'debootstrap',
      await runCommand('debootstrap', ['--variant=minbase', '--include=systemd,systemd-sysv,dbus', codename, rootfs, mirror], { timeoutMs: 900_000 }),
    ),
  );
  const nodeBin = realpathSync(process.execPath);
  const npmDir = path.resolve(path.dirname(nodeBin), '..', 'lib', 'node_modules', 'npm');
  copyFileSync(nodeBin, path.join(rootfs, 'usr/local/bin/node'));
  chmodSync(path.join(rootfs, 'usr/local/bin/node'), 0o755);
  if (existsSync(npmDir)) {
    cpSync(npmDir, path.join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(rootfs, 'usr/local/bin/npm'));
  }
  mkdirSync(path.join(rootfs, 'usr/local/etc'), { recursive: true });
  writeFileSync(path.join(rootfs, 'usr/local/etc/npmrc'), 'update-notifier=false\nfund=false\naudit=false\n');
  const changes = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["/bin/bash"]'];
  const ca = hostCaBundle();
  if (ca) {
    mkdirSync(path.join(rootfs, 'etc/ssl/certs'), { recursive: true });
    copyFileSync(ca, path.join(rootfs, 'etc/ssl/certs/ca-certificates.crt'));
    changes.push('ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
  }
  rmSync(path.join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  rmSync(path.join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
  mkdirSync(path.join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
  await step(log, `podman import ${IMAGES.base}`, async () => {
    // Streamed: the root file system never lands on disk a second time as a tarball.
    const script = 'root=$1; shift; tar -C "$root" -c . | podman import "$@"';
    const args = ['-c', script, 'sh', rootfs, ...changes.flatMap((c) => ['--change', c]), '-', IMAGES.base];
    mustSucceed('podman import', await runCommand('sh', args, { env: { ...process.env, ...engine }, timeoutMs: 300_000 }));
    rmSync(rootfs, { recursive: true, force: true });
  });
}

/** The project's stand-in Envoy as the one file the Dockerfile copies from an Envoy image. */
async function envoyImage(engine: Record<string, string>, workDir: string, log: Log): Promise<void> {
  const context = path.join(workDir, 'envoy-context');
  mkdirSync(context, { recursive: true });
  copyFileSync(fakeEnvoyBundle, path.join(context, 'envoy'));
  chmodSync(path.join(context, 'envoy'), 0o755);
  writeFileSync(path.join(context, 'Containerfile'), 'FROM scratch\nCOPY envoy /usr/local/bin/envoy\n');
  await step(log, `podman build ${IMAGES.envoy}`, async () => mustSucceed('podman build', await podman(engine, ['build', '--pull=never', '-t', IMAGES.envoy, context])));
}

/**
 * templates/Dockerfile as a user builds it, with its own build arguments pointing at the local
 * images. Docker format keeps HEALTHCHECK (OCI drops it). The host's npm cache spares the
 * registry; the CA variable the base sets for npm is not left in the image.
 */
async function projectImage(engine: Record<string, string>, log: Log): Promise<void> {
  const npmCache = (await runCommand('npm', ['config', 'get', 'cache'])).stdout.trim();
  const args = [
    'build', '--pull=never', '--format', 'docker', '--network', 'host',
    ...(npmCache && existsSync(npmCache) ? ['--volume', `${npmCache}:/root/.npm`] : []),
    '--unsetenv', 'NODE_EXTRA_CA_CERTS',
    '--build-arg', `NODE_IMAGE=${IMAGES.base}`, '--build-arg', `ENVOY_IMAGE=${IMAGES.envoy}`,
    '-f', path.join(repoRoot, 'templates', 'Dockerfile'), '-t', IMAGES.kumaDp, repoRoot,
  ];
  await step(log, `podman build -f templates/Dockerfile ${IMAGES.kumaDp}`, async () => mustSucceed('podman build', await podman(engine, args, { timeoutMs: 900_000 })));
}

/**
 * The project's image booting systemd instead, with the units installed as the README says: the
 * kuma-dp system user (the image's), every unit of templates/ in /etc/systemd/system, /etc/kuma-dp
 * for their settings. The app unit's service is a stand-in that records what its sidecar said.
 */
async function systemdImage(engine: Record<string, string>, workDir: string, log: Log): Promise<void> {
  const context = path.join(workDir, 'systemd-context');
  mkdirSync(context, { recursive: true });
  const units = readdirSync(path.join(repoRoot, 'templates')).filter((file) => file.endsWith('.service'));
  for (const unit of units) copyFileSync(path.join(repoRoot, 'templates', unit), path.join(context, unit));
  copyFileSync(path.join(repoRoot, 'dist', 'test-runtime', 'apps', 'ratings.js'), path.join(context, 'ratings.js'));
  writeFileSync(
    path.join(context, 'Containerfile'),
    `FROM ${IMAGES.kumaDp}
USER root
RUN ln -s /usr/local/bin/node /usr/bin/node \\
 && useradd --system --no-create-home --shell /usr/sbin/nologin bookinfo \\
 && install -d -m 0750 -g kuma-dp /etc/kuma-dp \\
 && install -d -o bookinfo /var/lib/bookinfo /opt/bookinfo/ratings \\
 && echo '{"type":"module"}' > /opt/bookinfo/ratings/package.json
COPY ${units.join(' ')} /etc/systemd/system/
COPY ratings.js /opt/bookinfo/ratings/ratings.js
HEALTHCHECK NONE
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/sbin/init"]
CMD []
`,
  );
  await step(log, `podman build ${IMAGES.systemd}`, async () =>
    mustSucceed('podman build', await podman(engine, ['build', '--pull=never', '--format', 'docker', '--network', 'none', '-t', IMAGES.systemd, context])),
  );
}

/** Builds what is not there yet (the base is kept when a work dir is reused), then the project's images. */
export async function buildImages(engine: Record<string, string>, workDir: string, log: Log): Promise<{ kumaDp: string; systemd: string }> {
  if ((await podman(engine, ['image', 'exists', IMAGES.base])).code !== 0) await baseImage(engine, workDir, log);
  await envoyImage(engine, workDir, log);
  await projectImage(engine, log);
  await systemdImage(engine, workDir, log);
  return { kumaDp: IMAGES.kumaDp, systemd: IMAGES.systemd };
}
