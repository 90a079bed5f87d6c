# Shared by the scripts in tools/: where things live and how to report.
# shellcheck shell=bash

VIGIL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Local state (database files, broker logs, pids, the env file) lives here; gitignored.
VIGIL_STATE="${VIGIL_STATE:-$VIGIL_ROOT/.vigil}"
# pkg-config and the linker look in /usr/local first (librdkafka 2.8 lives there).
export PKG_CONFIG_PATH="/usr/local/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
