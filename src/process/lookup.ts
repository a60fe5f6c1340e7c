import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first executable of that name in a PATH-style list of directories. */
export function findOnPath(name: string, pathEnv: string): string | undefined {
  return pathEnv
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, name))
    .find(isExecutableFile);
}

/** A command as a shell finds it: with a slash, a path from cwd; without, a name in PATH. */
export function resolveCommand(command: string, pathEnv: string, cwd: string): string | undefined {
  if (!command.includes('/')) return findOnPath(command, pathEnv);
  const file = path.resolve(cwd, command);
  return isExecutableFile(file) ? file : undefined;
}
