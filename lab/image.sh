#!/usr/bin/env bash
# Builds the lab host image: Debian bookworm that boots systemd as PID 1 under Podman.
# The debootstrap tarball is cached, keyed by this script's content, so a rebuild
# happens only when the recipe changes.
. "$(dirname "$0")/lib.sh"

PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,curl,ca-certificates,procps
key=$(sha256sum "$0" | cut -c1-12)
tarball=$LAB_CACHE/image-bookworm-$key.tar

build_rootfs() {
  local root
  root=$(mktemp -d "$LAB_STATE/rootfs.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" RETURN
  log "debootstrap bookworm (first run only, ~1 min)"
  retry 3 debootstrap --variant=minbase --include="$PACKAGES" bookworm "$root" "$DEBIAN_MIRROR" \
    > "$LAB_STATE/debootstrap.log" 2>&1 || { tail -20 "$LAB_STATE/debootstrap.log" >&2; die "debootstrap failed"; }

  # Each host must get its own machine-id, hostname and resolver from Podman/systemd.
  : > "$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id" "$root/etc/hostname" "$root/etc/resolv.conf"
  cat > "$root/etc/apt/sources.list" <<SRC
deb $DEBIAN_MIRROR bookworm main
deb $DEBIAN_MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
  # HTTPS from inside the hosts leaves through the same proxy as the VM's: trust its CA too.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" > /dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates > /dev/null 2>&1
  fi
  # Pulled in by some Recommends; cannot work in a container and marks the system degraded.
  ln -sf /dev/null "$root/etc/systemd/system/nvmf-autoconnect.service"
  # An empty but "fresh" apt cache makes `apt: cache_valid_time` skip the update.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  touch -d @0 "$root/var/lib/apt/lists"
  tar --numeric-owner -C "$root" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
}

mkdir -p "$LAB_CACHE"
if podman image exists "$LAB_IMAGE:$key"; then
  log "image $LAB_IMAGE:$key present"
  exit 0
fi
[ -f "$tarball" ] || build_rootfs
log "importing $tarball"
podman import --quiet \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' --change 'ENV container=podman' \
  "$tarball" "$LAB_IMAGE:$key" > /dev/null
podman tag "$LAB_IMAGE:$key" "$LAB_IMAGE:latest"
# Keep storage small: drop images built from older recipes.
podman images --format '{{.Repository}}:{{.Tag}}' | grep "^$LAB_IMAGE:" | grep -v -e ":$key\$" -e ':latest$' \
  | xargs -r podman rmi -f > /dev/null 2>&1 || true
