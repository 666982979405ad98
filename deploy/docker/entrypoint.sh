#!/bin/sh
# Runs the component the first argument names; the rest of the arguments go to it.
set -eu
# The installed tree: /app in the image (a checkout, for the tests).
root="${NSM_APP_ROOT:-/app}"
component="${1:-}"
[ "$#" -gt 0 ] && shift
case "$component" in
  registry) exec node "$root"/registry/dist/main.js "$@" ;;
  nsmgr) exec node "$root"/manager/dist/main.js "$@" ;;
  # Netlink batches and data-plane probes wait on libuv pool threads: more than the default 4.
  forwarder) UV_THREADPOOL_SIZE="${UV_THREADPOOL_SIZE:-16}" exec node "$root"/forwarder/dist/main.js "$@" ;;
  webhook) exec node "$root"/cli/dist/webhook/main.js "$@" ;;
  issuer) exec node "$root"/cli/dist/issuer/main.js "$@" ;;
  nsc) exec node "$root"/cli/dist/roles/nsc.js "$@" ;;
  nse) exec node "$root"/cli/dist/roles/nse.js "$@" ;;
  nsm) exec node "$root"/cli/dist/main.js "$@" ;;
  *)
    echo "nsm-entrypoint: unknown component \"$component\": expected registry, nsmgr, forwarder, webhook, issuer, nsc, nse or nsm" >&2
    exit 2
    ;;
esac
