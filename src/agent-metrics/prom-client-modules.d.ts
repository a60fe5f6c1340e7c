// Types for the prom-client modules metrics.ts loads directly, taken from prom-client's own: its
// index also loads the cluster aggregator, the push gateway and summaries, which the agent does not use.
declare module 'prom-client/lib/registry.js' {
  import { Registry } from 'prom-client';
  export default Registry;
}

declare module 'prom-client/lib/counter.js' {
  import { Counter } from 'prom-client';
  export default Counter;
}

declare module 'prom-client/lib/gauge.js' {
  import { Gauge } from 'prom-client';
  export default Gauge;
}

declare module 'prom-client/lib/histogram.js' {
  import { Histogram } from 'prom-client';
  export default Histogram;
}

declare module 'prom-client/lib/metrics/*.js' {
  import type { Registry } from 'prom-client';
  /** One of collectDefaultMetrics' collectors: registers its metrics in the registry. */
  const collector: (registry: Registry, config: { readonly prefix?: string }) => void;
  export default collector;
}
