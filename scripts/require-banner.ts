// CommonJS dependencies (pino, yargs' helpers, yaml) call require(); an ESM bundle has none of its
// own. Put first in a bundle, this gives it one.
export const REQUIRE_BANNER =
  "import { createRequire as __kumaDpCreateRequire } from 'node:module'; const require = __kumaDpCreateRequire(import.meta.url);";
