#!/usr/bin/env bash
# Make the base image local/debian:bookworm from Debian's mirror with
# debootstrap (no container registry is needed). Skips when the image exists.
#
# Environment:
#   BASE_IMAGE           image name to create (default local/debian:bookworm)
#   DEBIAN_SUITE         suite (default bookworm)
#   DEBIAN_MIRROR        mirror (default http://deb.debian.org/debian)
#   WSGI_OPERATOR_CACHE  work dir parent (default $HOME/.cache/wsgi-operator)
set -euo pipefail

# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

IMAGE="${BASE_IMAGE:-local/debian:bookworm}"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE already present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  die "debootstrap needs root"
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  apt_install debootstrap
fi

mkdir -p "$WSGI_OPERATOR_CACHE"
WORK="$(mktemp -d "$WSGI_OPERATOR_CACHE/rootfs.XXXXXX")"
cleanup() { rm -rf --one-file-system "$WORK"; }
trap cleanup EXIT

log "debootstrap --variant=minbase $SUITE from $MIRROR into $WORK (about 2 minutes)"
start=$(date +%s)
debootstrap --variant=minbase "$SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
  log "last lines of the debootstrap log:"; tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }

# Same apt sources as Debian's official images: point releases and security.
if [ "$SUITE" != sid ] && [ "$SUITE" != unstable ]; then
  cat >"$WORK/rootfs/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SOURCES
fi

# Trim what a container never needs: apt lists and package caches.
rm -rf "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/var/cache/apt/"*.bin \
       "$WORK/rootfs/var/cache/apt/archives/"*.deb

tar --numeric-owner -C "$WORK/rootfs" -c . \
  | "$DOCKER" import \
      --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      - "$IMAGE" >/dev/null
log "created $IMAGE in $(( $(date +%s) - start ))s"
