#!/usr/bin/env bash
# Builds the lab host image: Debian bookworm that boots systemd as PID 1 under Podman.
# The debootstrap tarball is cached, keyed by this script's content, so a rebuild
# happens only when the recipe changes.
# The image also carries the web assets of the lab's Prometheus build (see install_prometheus_web).
. "$(dirname "$0")/lib.sh"

PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,curl,ca-certificates,procps,openssh-server
key=$(sha256sum "$0" | cut -c1-12)
tarball=$LAB_CACHE/image-bookworm-$key.tar

# The lab's Prometheus is Debian bullseye's 2.24.1 build (lab/mirror.sh repackages its binary in the
# upstream layout). Unlike the upstream release, which embeds its web assets, Debian's build reads
# the classic UI's templates and static files from /usr/share/prometheus/web at run time; its package
# ships them there, partly as symlinks into these libjs-*/fonts packages. Without them every UI page
# answers 500 ("open /usr/share/prometheus/web/templates/_base.html"). Giving them to the lab host
# here (not in roles/prometheus) keeps the role on the upstream release's path: install the binary
# and nothing else. Debian's build carries no React UI: its pages are under /classic/.
PROMETHEUS_WEB_SUITE=bullseye
PROMETHEUS_WEB_PACKAGES=(prometheus fonts-glyphicons-halflings libjs-bootstrap4 libjs-d3
  libjs-eonasdan-bootstrap-datetimepicker libjs-jquery libjs-jquery-hotkeys libjs-moment libjs-moment-timezone
  libjs-mustache libjs-popper.js libjs-rickshaw)
# Files the classic targets page loads; checked after the copy so a missing package fails the build.
PROMETHEUS_WEB_EXPECTED=(templates/_base.html templates/targets.html static/js/targets.js
  static/jquery/jquery.min.js static/bootstrap4/js/bootstrap.min.js static/popper.js/popper.min.js
  static/moment-timezone/moment-timezone-with-data.min.js
  static/vendor/bootstrap4-glyphicons/fonts/glyphicons/glyphicons-halflings-regular.woff)

# apt with private lists and cache, so the bullseye packages neither need nor touch the machine's sources.
# Signatures and sums are checked against the machine's keyring, as lab/mirror.sh does.
apt_web() {
  local apt=$LAB_CACHE/apt-web
  apt-get -q -o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=/dev/null \
    -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o Dir::State::status=/dev/null \
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

# install_prometheus_web ROOT: /usr/share/prometheus/web of Debian's build, symlinks resolved (the
# libjs-* packages themselves are not installed on the host: bookworm's versions differ).
install_prometheus_web() {
  local root=$1 apt=$LAB_CACHE/apt-web x p deb f
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  printf 'deb %s %s main\n' "$DEBIAN_MIRROR" "$PROMETHEUS_WEB_SUITE" > "$apt/sources.list"
  retry 3 apt_web update > "$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; die "apt update (prometheus web) failed"; }
  for p in "${PROMETHEUS_WEB_PACKAGES[@]}"; do
    (cd "$apt/debs" && retry 3 apt_web download "$p/$PROMETHEUS_WEB_SUITE") > "$apt/download.log" 2>&1 \
      || { cat "$apt/download.log" >&2; die "download of $p/$PROMETHEUS_WEB_SUITE failed"; }
  done
  # Unpacked inside the rootfs, so build_rootfs's cleanup covers a failure here (a RETURN trap of
  # our own would replace build_rootfs's: bash keeps one, global).
  x=$root/tmp/prometheus-web-debs
  rm -rf "$x"; mkdir -p "$x"
  for p in "${PROMETHEUS_WEB_PACKAGES[@]}"; do
    deb=$(find "$apt/debs" -name "${p}_*.deb" | sort | tail -1)
    [ -n "$deb" ] || die "no .deb of $p downloaded"
    dpkg-deb -x "$deb" "$x"
  done
  mkdir -p "$root/usr/share/prometheus"
  # -L: the links point into packages the host does not have; a dangling one fails the copy.
  cp -rL "$x/usr/share/prometheus/web" "$root/usr/share/prometheus/web" || die "prometheus web assets incomplete"
  # moment-timezone's raw zone data (160 MB) is not served: the pages load the bundle that embeds it.
  rm -rf "$root/usr/share/prometheus/web/static/moment-timezone/data"
  rm -rf "$x"
  chmod -R u=rwX,go=rX "$root/usr/share/prometheus/web"
  for f in "${PROMETHEUS_WEB_EXPECTED[@]}"; do
    [ -s "$root/usr/share/prometheus/web/$f" ] || die "prometheus web assets: $f missing"
  done
}

# configure_sshd ROOT: Ansible reaches the lab hosts over SSH, as it reaches a real fleet. Each host
# makes its own host keys at first boot (the ones debootstrap made would be shared by every host);
# the lab's key (lab/lab up, .lab/ssh) is bind-mounted at /etc/ssh/lab_authorized_keys when a host is
# created and lets in any account that exists, so a test can log in as a normal user too.
configure_sshd() {
  local root=$1
  rm -f "$root"/etc/ssh/ssh_host_*
  mkdir -p "$root/etc/systemd/system/ssh.service.d"
  cat > "$root/etc/systemd/system/ssh.service.d/lab-host-keys.conf" <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
  cat > "$root/etc/ssh/sshd_config.d/lab.conf" <<'CONF'
AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/lab_authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxSessions 32
MaxStartups 64:30:128
CONF
}

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
  configure_sshd "$root"
  log "prometheus web assets from $PROMETHEUS_WEB_SUITE's packages"
  install_prometheus_web "$root"
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
