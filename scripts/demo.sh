#!/usr/bin/env bash
# One command: install what is missing, start the Asterisk sandbox (PBX, simulated phone network, agent
# softphones), load the demo (campaigns, agents, an admin login) and run the dialer service on SQLite.
# The installers' output goes to a log file; the terminal shows the steps, the sandbox build's progress,
# then a short block with the address, the login and how to stop. Ctrl-C stops the service and Asterisk
# (DEMO_KEEP_SANDBOX=1 leaves Asterisk running). DEMO_DIR (default data/) holds the two logs.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR=${DEMO_DIR:-data}
mkdir -p "$DEMO_DIR"
LOG=$DEMO_DIR/demo-install.log
SERVICE_LOG=$DEMO_DIR/demo-service.log
: >"$LOG"

step() { printf '%s\n' "$*"; }
fail() {
  printf 'demo: %s failed; the end of %s:\n' "$1" "$2" >&2
  tail -n 20 "$2" >&2
  exit 1
}

step "1/4 installing what is missing (details: $LOG)"
scripts/bootstrap.sh >>"$LOG" 2>&1 || fail "installing" "$LOG"
DIALER=.venv/bin/dialer

step "2/4 starting the Asterisk sandbox (the first run builds it, usually in 90-140 s)"
# progress and warnings on the terminal; the status lines and the rest in the log
DIALER_LOGGING__LEVEL=WARNING $DIALER sandbox up >>"$LOG" || fail "starting the sandbox" "$LOG"

step "3/4 loading the demo (campaigns, agents 101-104, an admin login)"
$DIALER db upgrade >>"$LOG" 2>&1 || fail "the database upgrade" "$LOG"
loaded=$($DIALER demo load 2>>"$LOG") || fail "loading the demo" "$LOG"
printf '%s\n' "$loaded" | grep -v '^password:' >>"$LOG"
password=$(printf '%s\n' "$loaded" | sed -n 's/^password: //p')

step "4/4 starting the dialer service (its log: $SERVICE_LOG)"
bind=$(.venv/bin/python -c 'from dialer.config import load_settings; print(load_settings().http.bind)')
$DIALER serve >"$SERVICE_LOG" 2>&1 &
service=$!
stop() {
  trap - INT TERM
  printf '\nstopping the service and the sandbox...\n'
  kill "$service" 2>/dev/null || true
  wait "$service" 2>/dev/null || true
  if [ "${DEMO_KEEP_SANDBOX:-0}" = 1 ]; then
    printf 'stopped (Asterisk still runs: %s sandbox down stops it)\n' "$DIALER"
  else
    $DIALER sandbox down >>"$LOG" 2>&1 || true
    printf 'stopped\n'
  fi
  exit 0
}
trap stop INT TERM
for _ in $(seq 1 120); do # up to 60 s: migrations, the web server, the AMI link
  curl -fsS "http://$bind/healthz" >/dev/null 2>&1 && break
  kill -0 "$service" 2>/dev/null || fail "starting the service" "$SERVICE_LOG"
  sleep 0.5
done
curl -fsS "http://$bind/healthz" >/dev/null 2>&1 || fail "starting the service (no answer on $bind)" "$SERVICE_LOG"

if [ -n "$password" ]; then
  login="admin / $password   (shown once: write it down)"
else
  login="admin (its password was shown the first time; new one: $DIALER user set-password admin)"
fi
cat <<EOF

  The demo is running: the softphones 101-104 answer the calls of campaign demo-pickup.

    dashboard   http://$bind/admin
    login       $login
    stop        Ctrl-C (stops the service and the Asterisk sandbox)

EOF
wait "$service"
