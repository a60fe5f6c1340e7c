// yargs lays out its help with string-width (through cliui and wrap-ansi), whose module creates an
// Intl.Segmenter and compiles /^\p{RGI_Emoji}$/v as it loads: 25-45 ms of every start of the CLI,
// `kuma-dp run` included, although a run only lays out a few lines of plain text (yargs renders a
// command's help whenever the command runs). In the bundle every import of string-width gets this
// stand-in: printable ASCII is one column per character, as string-width counts it; anything else
// goes to the real string-width, loaded on first use.
import type { Plugin } from 'esbuild';

const NAMESPACE = 'kuma-dp-lazy-string-width';

const STAND_IN = `
let real;
export default function stringWidth(text, options) {
  if (typeof text === 'string' && /^[\\x20-\\x7e]*$/.test(text)) return text.length;
  real ??= require('string-width').default;
  return real(text, options);
}
`;

export function lazyStringWidth(resolveDir: string): Plugin {
  return {
    name: 'lazy-string-width',
    setup(build) {
      // The stand-in's own require() resolves as usual, to the real module.
      build.onResolve({ filter: /^string-width$/ }, (args) => (args.namespace === NAMESPACE ? undefined : { path: 'string-width', namespace: NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({ contents: STAND_IN, loader: 'js', resolveDir }));
    },
  };
}
