#!/usr/bin/env bash
# Runs the peer benchmark (Better Auth on the same workerd, over the same Neon protocol and the
# PostgreSQL server), when its folder is at hand, with the same connections, duration and SQL latency
# as `npm run bench`, so both can be compared from one session. Not part of CI: it installs the peer's
# own dependencies on its first run. Usage: bash bench/peer.sh [latency-ms]   (env: CONNECTIONS, DURATION)
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${PEER_DIR:-../shared/peers/better-auth}
if [ ! -x "$peer/run.sh" ]; then
  echo "no peer at $peer (set PEER_DIR to a copy of the Better Auth peer benchmark)" >&2
  exit 2
fi
latency=${1:-0}
connections=${CONNECTIONS:-$([ "$latency" = 0 ] && echo 20 || echo 1)}
# run a copy, outside the project: the peer installs and writes results into its own folder
work=${PEER_WORK_DIR:-${TMPDIR:-/tmp}/coffee-peer-bench}
mkdir -p "$work"
cp -r "$peer/." "$work/"
cd "$work"
echo "== peer: $connections connection(s), ${DURATION:-5} s per operation, ${latency} ms added to each SQL answer"
CONNECTIONS=$connections DURATION=${DURATION:-5} REF_SQL_LATENCY_MS=$latency ./run.sh
