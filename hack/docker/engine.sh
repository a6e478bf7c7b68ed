#!/usr/bin/env bash
# Ensure a Docker engine is running and reachable through Debian's client
# (/usr/bin/docker, 20.10, BuildKit built in).
#
# Idempotent: does nothing when `/usr/bin/docker info` already works.
# Otherwise installs docker.io (only when missing), starts dockerd in the
# background and waits until the engine answers.
#
# Environment:
#   DOCKER_ENGINE_TIMEOUT  seconds to wait for the engine (default 60)
#   DOCKERD_LOG            dockerd log file (default /var/log/dockerd.log)
set -euo pipefail

DOCKER=/usr/bin/docker
TIMEOUT="${DOCKER_ENGINE_TIMEOUT:-60}"
LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"

log() { printf 'engine.sh: %s\n' "$*" >&2; }

if [ -x "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1; then
  log "docker engine already running"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  log "docker engine is not reachable and this script is not root: cannot install or start it"
  exit 1
fi

if ! [ -x "$DOCKER" ] || ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  mkdir -p "$(dirname "$LOG")"
  log "starting dockerd (log: $LOG)"
  # setsid: keep dockerd alive after this script (and its process group) exits.
  setsid dockerd >>"$LOG" 2>&1 </dev/null &
else
  log "dockerd process exists; waiting for it to answer"
fi

deadline=$(( $(date +%s) + TIMEOUT ))
until "$DOCKER" info >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "docker engine did not become ready within ${TIMEOUT}s; last lines of $LOG:"
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
  sleep 1
done
log "docker engine ready ($("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null || echo unknown))"
