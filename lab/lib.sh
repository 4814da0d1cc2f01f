# shellcheck shell=bash
# Shared settings and helpers for the lab scripts. Sourced, never run.
# shellcheck disable=SC2034  # the settings are used by the scripts that source this file
# All lab state lives under one folder so cleanup is `lab down` + `rm -rf` of it.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$LAB_DIR")
LAB_STATE=${LAB_STATE:-$REPO_DIR/.lab}
LAB_CACHE=$LAB_STATE/cache
LAB_SSH_KEY=$LAB_STATE/ssh/id_ed25519

# The lab network is owned by the lab (not by Molecule) so the mirror can live on it
# across scenarios; fixed subnet => fixed host addresses in scenarios and inventories.
LAB_NETWORK=${LAB_NETWORK:-sdstack-lab}
LAB_SUBNET=${LAB_SUBNET:-10.89.20.0/24}
LAB_MIRROR_NAME=${LAB_MIRROR_NAME:-sdstack-mirror}
LAB_MIRROR_IP=${LAB_MIRROR_IP:-10.89.20.2}
LAB_MIRROR_PORT=${LAB_MIRROR_PORT:-8080}
LAB_IMAGE=${LAB_IMAGE:-localhost/sdstack-lab-bookworm}
LAB_IMAGE=${LAB_IMAGE%:latest}  # `lab env` exports it with its tag
LAB_LABEL=sdstack.lab=1

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

export CONTAINERS_CONF=$LAB_STATE/podman/containers.conf
export CONTAINERS_STORAGE_CONF=$LAB_STATE/podman/storage.conf
export CONTAINERS_REGISTRIES_CONF=$LAB_DIR/podman/registries.conf

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# retry N CMD...: network fetches from the Debian archive / PyPI fail now and then.
retry() {
  local n=$1 i=1; shift
  until "$@"; do
    [ "$i" -ge "$n" ] && return 1
    log "attempt $i/$n failed: $*; retrying in $((i * 3))s"
    sleep $((i * 3)); i=$((i + 1))
  done
}

# timed LABEL CMD...: prints how long a step took, so cold and warm runs can be compared.
timed() {
  local label=$1 t0 rc=0; shift
  t0=$(date +%s.%N)
  "$@" || rc=$?
  printf '[lab timing] %-10s %6.1fs%s\n' "$label" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" \
    "$([ $rc -eq 0 ] || echo " (failed rc=$rc)")" >&2
  return $rc
}

podman() { command podman "$@"; }

# ensure_debian_packages PACKAGE...: install those that are missing from Debian's archive.
ensure_debian_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  retry 3 apt-get update -q > "$LAB_STATE/apt.log" 2>&1 || { tail "$LAB_STATE/apt.log" >&2; die "apt-get update failed"; }
  DEBIAN_FRONTEND=noninteractive retry 3 apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >> "$LAB_STATE/apt.log" 2>&1 || { tail "$LAB_STATE/apt.log" >&2; die "apt-get install failed"; }
}
