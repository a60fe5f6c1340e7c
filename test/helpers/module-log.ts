// Preloaded with `node --import` (through NODE_OPTIONS): appends `<pid> <url>` for every module
// the process loads to the file named by KUMA_DP_TEST_MODULE_LOG, so that a test can see which
// chunks of the bundle an agent really loaded. Processes the agent starts with the same
// environment (the fake Envoy) log too, under their own pid.
import { register } from 'node:module';

const file = process.env.KUMA_DP_TEST_MODULE_LOG;
if (file) register('./module-log-hooks.js', { parentURL: import.meta.url, data: file });
