# Shared by the scripts in tools/: where things live and how to report.
# shellcheck shell=bash

VIGIL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Local state (database files, broker logs, pids, the env file) lives here; gitignored.
VIGIL_STATE="${VIGIL_STATE:-$VIGIL_ROOT/.vigil}"
# pkg-config and the linker look in /usr/local first (librdkafka 2.8 lives there).
export PKG_CONFIG_PATH="/usr/local/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Starts the local stack for one run of a script and stops it when the script
# exits (also on failure), unless it was already running before: then it is left
# as it was found. Exports the stack's settings (VIGIL_..., PGPASSFILE).
stack_up_for_this_run() {
    if "$VIGIL_ROOT/tools/stack" check; then
        VIGIL_STACK_WAS_UP=true
    else
        VIGIL_STACK_WAS_UP=false
    fi
    trap 'rc=$?; if [ "$VIGIL_STACK_WAS_UP" = false ]; then "$VIGIL_ROOT/tools/stack" down || true; fi; exit $rc' EXIT
    "$VIGIL_ROOT/tools/stack" up >/dev/null
    set -a
    # shellcheck disable=SC1091
    . "$VIGIL_STATE/env"
    set +a
}
