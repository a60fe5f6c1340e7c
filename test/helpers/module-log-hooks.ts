// The loader hooks of module-log.ts; they run on Node's hooks thread, hence a file of their own.
import { appendFileSync } from 'node:fs';
import type { InitializeHook, ResolveHook } from 'node:module';

let file = '';

export const initialize: InitializeHook<string> = (data) => {
  file = data;
};

export const resolve: ResolveHook = async (specifier, context, next) => {
  const result = await next(specifier, context);
  // Synchronous, so that the line is written before the module that asked for it runs on.
  appendFileSync(file, `${process.pid} ${result.url}\n`);
  return result;
};
