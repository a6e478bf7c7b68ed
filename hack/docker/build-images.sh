#!/usr/bin/env bash
# Build the project's images with Debian's Docker client (BuildKit), without
# any registry:
#   local/wsgi-runtime:dev   images/runtime   (FROM $BASE_IMAGE)
#   local/wsgi-hello:dev     examples/app     (FROM the runtime image)
#   local/wsgi-django:dev    images/django    (FROM the runtime image; context:
#                                              examples/django, Django from PyPI)
#   local/wsgi-operator:dev  images/operator  (context: repo root; only when
#                                              pyproject.toml exists)
#
# Every Python package comes from a lock file in the build context (`make
# lock`), installed with --require-hashes: images/runtime/requirements*.txt,
# examples/django/requirements.txt, requirements/{operator,build}.txt. They
# are inputs below, so a lock change rebuilds the image.
#
# A build is skipped when the image already carries the label
# io.wsgi-operator.inputs-sha256 equal to the sha256 of its inputs (the files
# of its build context, the build args and the ID of the image it builds
# FROM). So a change to the runtime image rebuilds the app image too.
#
# Usage: hack/docker/build-images.sh [runtime] [app] [django] [operator]   (default: all)
# Environment:
#   BASE_IMAGE      (default local/debian:bookworm, made by base-image.sh)
#   RUNTIME_IMAGE   (default local/wsgi-runtime:dev)
#   APP_IMAGE       (default local/wsgi-hello:dev)
#   DJANGO_IMAGE    (default local/wsgi-django:dev)
#   OPERATOR_IMAGE  (default local/wsgi-operator:dev)
#   FORCE=1         build even when the inputs are unchanged
#   PIP_CA_BUNDLE   CA bundle passed as the pipca build secret
#                   (default /etc/ssl/certs/ca-certificates.crt, skipped if absent)
#   WSGI_OPERATOR_CACHE  build logs go to $WSGI_OPERATOR_CACHE/build-logs
set -euo pipefail

# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

BASE_IMAGE="${BASE_IMAGE:-local/debian:bookworm}"
RUNTIME_IMAGE="${RUNTIME_IMAGE:-local/wsgi-runtime:dev}"
APP_IMAGE="${APP_IMAGE:-local/wsgi-hello:dev}"
DJANGO_IMAGE="${DJANGO_IMAGE:-local/wsgi-django:dev}"
OPERATOR_IMAGE="${OPERATOR_IMAGE:-local/wsgi-operator:dev}"
PIP_CA_BUNDLE="${PIP_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
LOGDIR="$WSGI_OPERATOR_CACHE/build-logs"
LABEL=io.wsgi-operator.inputs-sha256

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(runtime app django operator)
want() { local t; for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

"$HACK_DIR/docker/engine.sh"
if [ "$BASE_IMAGE" = local/debian:bookworm ]; then
  "$HACK_DIR/docker/base-image.sh"
fi
mkdir -p "$LOGDIR"

image_id() { "$DOCKER" image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
image_label() {
  "$DOCKER" image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

# sha256 over: the extra strings given after "--", then every regular file
# (relative path and content) under the given paths, excluding caches.
# usage: inputs_hash DIR PATH... -- STRING...
inputs_hash() {
  local dir=$1; shift
  local paths=() extra=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do paths+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  extra=("$@")
  {
    printf '%s\n' "${extra[@]}"
    (cd "$dir" && find "${paths[@]}" -type f \
        ! -path '*/__pycache__/*' ! -name '*.pyc' ! -path '*.egg-info/*' \
        ! -path '*/.pytest_cache/*' -print0 2>/dev/null \
      | LC_ALL=C sort -z | xargs -0 -r sha256sum)
  } | sha256sum | cut -d' ' -f1
}

# usage: build NAME IMAGE HASH CONTEXT [docker build args...]
build() {
  local name=$1 image=$2 hash=$3 context=$4; shift 4
  if [ "${FORCE:-0}" != 1 ] && [ "$(image_label "$image")" = "$hash" ]; then
    log "$name: $image is up to date (inputs $hash)"
    return 0
  fi
  local secret=()
  [ -r "$PIP_CA_BUNDLE" ] && secret=(--secret "id=pipca,src=$PIP_CA_BUNDLE")
  local logf="$LOGDIR/$name.log" start end
  log "$name: building $image (log: $logf)"
  start=$(date +%s)
  if ! DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain \
      "${secret[@]}" --label "$LABEL=$hash" -t "$image" "$@" "$context" >"$logf" 2>&1; then
    log "$name: build FAILED; last lines of $logf:"
    tail -n 40 "$logf" >&2
    return 1
  fi
  end=$(date +%s)
  log "$name: built $image in $((end - start))s"
}

if want runtime || want app || want django; then
  base_id="$(image_id "$BASE_IMAGE")"
  [ -n "$base_id" ] || die "base image $BASE_IMAGE not found"
  h=$(inputs_hash "$REPO_ROOT/images/runtime" . -- "BASE_IMAGE=$BASE_IMAGE" "$base_id")
  build runtime "$RUNTIME_IMAGE" "$h" "$REPO_ROOT/images/runtime" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE"
fi

if want app; then
  runtime_id="$(image_id "$RUNTIME_IMAGE")"
  h=$(inputs_hash "$REPO_ROOT/examples/app" . -- "RUNTIME_IMAGE=$RUNTIME_IMAGE" "$runtime_id")
  build app "$APP_IMAGE" "$h" "$REPO_ROOT/examples/app" \
    --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE"
fi

if want django; then
  runtime_id="$(image_id "$RUNTIME_IMAGE")"
  h=$(inputs_hash "$REPO_ROOT" images/django examples/django -- "RUNTIME_IMAGE=$RUNTIME_IMAGE" "$runtime_id")
  build django "$DJANGO_IMAGE" "$h" "$REPO_ROOT/examples/django" \
    -f "$REPO_ROOT/images/django/Dockerfile" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE"
fi

if want operator; then
  if [ ! -f "$REPO_ROOT/pyproject.toml" ]; then
    log "operator: $REPO_ROOT/pyproject.toml does not exist yet; skipping"
  else
    base_id="$(image_id "$BASE_IMAGE")"
    # The lock files it installs from: a lock change rebuilds the image.
    op_inputs=(images/operator pyproject.toml operator requirements/operator.txt requirements/build.txt)
    for f in "$REPO_ROOT"/README* "$REPO_ROOT"/LICENSE*; do
      [ -f "$f" ] && op_inputs+=("${f#"$REPO_ROOT"/}")
    done
    h=$(inputs_hash "$REPO_ROOT" "${op_inputs[@]}" -- "BASE_IMAGE=$BASE_IMAGE" "$base_id")
    build operator "$OPERATOR_IMAGE" "$h" "$REPO_ROOT" \
      -f "$REPO_ROOT/images/operator/Dockerfile" --build-arg "BASE_IMAGE=$BASE_IMAGE"
  fi
fi

log "images: $(for t in "${targets[@]}"; do case $t in runtime) printf '%s ' "$RUNTIME_IMAGE";; app) printf '%s ' "$APP_IMAGE";; django) printf '%s ' "$DJANGO_IMAGE";; operator) [ -f "$REPO_ROOT/pyproject.toml" ] && printf '%s ' "$OPERATOR_IMAGE";; esac; done)"
