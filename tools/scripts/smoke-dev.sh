#!/usr/bin/env bash
# Starts `npm run dev` as a newcomer would and checks, within a minute, that the API answers /health,
# serves /docs with its assets, /openapi.json and the admin console (/admin), and that the mail catcher
# answers; then walks a client through signup, the emailed code, login and /users/me, and an admin made
# with `npm run users` through the user list. Stops it after.
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
  if ! curl -fsS "$url" | grep -qF -- "$expect"; then
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
check http://127.0.0.1:8787/admin '/admin/console.js'
check http://127.0.0.1:8787/admin/console.js 'Sign in'
check http://127.0.0.1:8788/emails '['

# Swagger UI must run in a real browser with nothing from the internet: the page's CSP, its nonce and
# the asset paths all have to agree for the operations to render.
if command -v chromium >/dev/null 2>&1; then
  dom=$(timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" --virtual-time-budget=10000 --dump-dom http://127.0.0.1:8787/docs 2>/dev/null)
  if ! grep -q 'data-path="/auth/signup"' <<<"$dom"; then
    echo "FAIL: Swagger UI did not render the operations in Chromium"
    exit 1
  fi
  echo "ok: Swagger UI renders the API's operations in headless Chromium"
else
  echo "skipped: no chromium for the browser check of /docs"
fi

api=http://127.0.0.1:8787
post() { curl -fsS "$api$1" -H 'content-type: application/json' -d "$2"; }
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

email="smoke-$RANDOM-$$@coffee.test"
password="oat flat white at dawn"
post /auth/signup "{\"email\":\"$email\",\"password\":\"$password\"}" >/dev/null
code=$(curl -fsS "http://127.0.0.1:8788/emails?to=$email" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(/\b(\d{6})\b/.exec(JSON.parse(s)[0].text)[1]))')
post /auth/verify "{\"email\":\"$email\",\"code\":\"$code\",\"password\":\"$password\"}" >/dev/null
token=$(post /auth/login "{\"email\":\"$email\",\"password\":\"$password\"}" | field access_token)
curl -fsS "$api/users/me" -H "authorization: Bearer $token" | grep -qF "\"email\":\"$email\""
echo "ok: signup, emailed code, verify, login, /users/me"

admin="admin-$RANDOM-$$@coffee.test"
npm run --silent users -- create --email "$admin" --password "$password" --role admin
admin_token=$(post /auth/login "{\"email\":\"$admin\",\"password\":\"$password\"}" | field access_token)
curl -fsS "$api/users?email=smoke-" -H "authorization: Bearer $admin_token" | grep -qF "\"email\":\"$email\""
echo "ok: npm run users made an admin who lists users"
