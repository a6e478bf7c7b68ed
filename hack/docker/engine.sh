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

# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

TIMEOUT="${DOCKER_ENGINE_TIMEOUT:-60}"
DOCKERD_LOG_FILE="${DOCKERD_LOG:-/var/log/dockerd.log}"

if [ -x "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1; then
  log "docker engine already running"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  die "docker engine is not reachable and this script is not root: cannot install or start it"
fi

if ! [ -x "$DOCKER" ] || ! command -v dockerd >/dev/null 2>&1; then
  apt_install docker.io
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  mkdir -p "$(dirname "$DOCKERD_LOG_FILE")"
  log "starting dockerd (log: $DOCKERD_LOG_FILE)"
  # setsid: keep dockerd alive after this script (and its process group) exits.
  setsid dockerd >>"$DOCKERD_LOG_FILE" 2>&1 </dev/null &
else
  log "dockerd process exists; waiting for it to answer"
fi

deadline=$(( $(date +%s) + TIMEOUT ))
until "$DOCKER" info >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "last lines of $DOCKERD_LOG_FILE:"
    tail -n 20 "$DOCKERD_LOG_FILE" >&2 || true
    die "docker engine did not become ready within ${TIMEOUT}s"
  fi
  sleep 1
done
log "docker engine ready ($("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null || echo unknown))"
