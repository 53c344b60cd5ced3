#!/usr/bin/env bash
# Starts `npm run dev` as a newcomer would and checks, within a minute, that the API answers /health,
# serves /docs with its assets and /openapi.json, and that the mail catcher answers. Stops it after.
set -euo pipefail
cd "$(dirname "$0")/../.."

log=$(mktemp)
setsid npm run dev >"$log" 2>&1 &
dev_pid=$!
cleanup() {
  kill -TERM -- "-$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
}
trap cleanup EXIT

for second in $(seq 1 60); do
  if curl -fsS http://127.0.0.1:8787/health >/dev/null 2>&1; then
    echo "/health answered after ${second}s"
    break
  fi
  if [ "$second" = 60 ]; then
    echo "npm run dev did not answer /health within 60 s; its output:"
    cat "$log"
    exit 1
  fi
  sleep 1
done

check() {
  local url=$1 expect=$2
  if ! curl -fsS "$url" | grep -q -- "$expect"; then
    echo "FAIL: $url does not contain '$expect'"
    cat "$log"
    exit 1
  fi
  echo "ok: $url"
}
check http://127.0.0.1:8787/health '"database":"ok"'
check http://127.0.0.1:8787/docs 'swagger-ui-bundle.js'
check http://127.0.0.1:8787/docs/swagger-ui-bundle.js 'SwaggerUIBundle'
check http://127.0.0.1:8787/openapi.json '"openapi":"3.1.0"'
check http://127.0.0.1:8788/emails '['
