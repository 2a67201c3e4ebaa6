#!/usr/bin/env bash
# Stops the emulators that scripts/emulators/start.sh STATE_DIR started, by the PIDs it recorded.
# Safe to run twice, or after a partial start.
set -uo pipefail
STATE=${1:?usage: stop.sh STATE_DIR}
[ -f "$STATE/pids" ] || exit 0
pids=$(cat "$STATE/pids")
for pid in $pids; do kill "$pid" 2>/dev/null || true; done
# up to ~10 s for a clean exit, then SIGKILL what is left
for _ in $(seq 100); do
  alive=0
  for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.1
done
for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
rm -f "$STATE/pids"
