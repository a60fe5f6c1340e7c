#!/bin/sh
# Entrypoint of the kuma-dp image (POSIX sh: the image may have no bash).
#   docker run kuma-dp                     -> kuma-dp run (settings from KUMA_* variables)
#   docker run kuma-dp --cp-address=...    -> kuma-dp run --cp-address=...
#   docker run kuma-dp wait|version|run …  -> that kuma-dp command
#   docker run kuma-dp sh                  -> any other program, e.g. to debug
set -eu

if [ "$#" -eq 0 ]; then
  set -- run
fi
case "$1" in
  -*) set -- run "$@" ;;
esac

case "$1" in
  run)
    # A container's hostname is the natural dataplane name when none was given.
    if [ -z "${KUMA_DATAPLANE_NAME:-}" ]; then
      KUMA_DATAPLANE_NAME=$(hostname)
      export KUMA_DATAPLANE_NAME
    fi
    exec kuma-dp "$@"
    ;;
  wait | version | help)
    exec kuma-dp "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
