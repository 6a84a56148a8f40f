#!/usr/bin/env bash
# Start the action server and the Rasa server on embedded defaults.
#   scripts/run.sh         REST channel + HTTP API (token-protected) on $RASA_PORT (5005)
#   scripts/run.sh shell   terminal chat
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything the servers write (var/tickets.db, var/evidence/, secrets, logs) is owner-only;
# files left readable by an earlier run are tightened too.
umask 077
RASA=.venv/bin/rasa
PORT=${RASA_PORT:-5005}
HOST=${RASA_HOST:-127.0.0.1}
mkdir -p var
chmod -R go-rwx var 2>/dev/null || true

if [ -z "${RASA_TOKEN:-}" ]; then
  [ -s var/rasa_token ] || .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))' > var/rasa_token
  chmod 600 var/rasa_token
  RASA_TOKEN=$(cat var/rasa_token)
  TOKEN_WHERE="var/rasa_token (mode 0600)"
  TOKEN_SHELL='$(cat var/rasa_token)'
else
  TOKEN_WHERE="the RASA_TOKEN environment variable"
  TOKEN_SHELL='$RASA_TOKEN'
fi

if (exec 3<>/dev/tcp/127.0.0.1/5055) 2>/dev/null; then
  echo "error: port 5055 (action server) is already in use; stop the other assistant first." >&2
  exit 1
fi
$RASA run actions --actions actions --port 5055 >var/actions.log 2>&1 &
ACTIONS_PID=$!
trap 'kill $ACTIONS_PID 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 60); do
  if .venv/bin/python -c 'import urllib.request as u; u.urlopen("http://127.0.0.1:5055/health", timeout=2)' 2>/dev/null; then break; fi
  if ! kill -0 $ACTIONS_PID 2>/dev/null; then echo "error: action server failed, see var/actions.log" >&2; tail -n 20 var/actions.log >&2; exit 1; fi
  sleep 0.5
done

if [ "${1:-}" = "shell" ]; then
  $RASA shell --model models --endpoints endpoints.yml
  exit 0
fi

cat <<MSG

  Logistics assistant starting on http://$HOST:$PORT (ready in about 30 s; action server log: var/actions.log)

  Talk to it over the REST channel:
    curl -s -XPOST http://$HOST:$PORT/webhooks/rest/webhook \\
      -H 'Content-Type: application/json' \\
      -d '{"sender": "demo-user", "message": "帮我查下 SF1648547086646"}' | python3 -m json.tool --no-ensure-ascii

  More demo numbers: README.md ("Demo numbers to try") and fixtures/shipments.yml.

  The REST channel answers only this host until REST_API_KEYS is set (docs/security.md).

  HTTP API (conversations, model) needs the token from $TOKEN_WHERE, in a header:
    curl -s -H "Authorization: Token $TOKEN_SHELL" http://$HOST:$PORT/status
  Ctrl-C stops both servers.

MSG
$RASA run --model models --endpoints endpoints.yml --credentials credentials.yml \
  --enable-api --auth-token "$RASA_TOKEN" --interface "$HOST" --port "$PORT"
