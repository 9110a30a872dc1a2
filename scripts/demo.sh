#!/usr/bin/env bash
# One command: install what is missing, start the Asterisk sandbox (PBX, simulated phone network, agent
# softphones) and run the dialer service on SQLite in the foreground. Ctrl-C stops the service; then
# `.venv/bin/dialer sandbox down` stops Asterisk.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/dialer sandbox up
.venv/bin/dialer db upgrade
.venv/bin/dialer demo load
echo "dashboard: http://$(.venv/bin/python -c 'from dialer.config import load_settings; print(load_settings().http.bind)')/"
exec .venv/bin/dialer serve
