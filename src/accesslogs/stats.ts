/**
 * What the access-log streamer did, for metrics (`kuma_dp_access_log_lines_total{result}`) and
 * tests. The wiring creates one and passes it in, so that counts survive a restart of the streamer.
 */
export class AccessLogStats {
  /** Lines written to a backend's connection. */
  sent = 0;
  /** Lines not sent: unreadable, too long, pushed out of a full buffer, beyond the backend limit, left at stop. */
  dropped = 0;
  /** Bytes of lines waiting for backends that are down or slow, all backends together. */
  bufferedBytes = 0;
}
