#!/usr/bin/env bash
# Builds the artifact mirror: Debian-built binaries repackaged in the upstream release
# layouts (archive + checksum file), laid out like the upstream download sites so that
# roles run their production download path with only the base URL changed:
#   hashicorp/consul/<v>/consul_<v>_linux_amd64.zip            + consul_<v>_SHA256SUMS
#   github/prometheus/<project>/releases/download/v<v>/<project>-<v>.linux-amd64.tar.gz + sha256sums.txt
#   github/google/cadvisor/releases/download/v<v>/cadvisor-v<v>-linux-amd64 (a bare binary, as
#     upstream ships it) + <binary>.sha256 (for tests of an explicit cadvisor_checksum URL)
#   api/github/repos/google/cadvisor/releases/tags/v<v> (GitHub's release API answer, whose asset
#     digests the cadvisor role verifies against when cadvisor_checksum is empty)
# Prometheus 2.42.0 is Debian bookworm's build, which lacks Consul service discovery: tests use
# it to prove the prometheus role refuses such a build with a clear message.
# Archives are reproducible (fixed mtimes, owners, order) so checksums are stable.
. "$(dirname "$0")/lib.sh"

# package  suite     version-in-layout  kind
ARTIFACTS=(
  "consul                   bullseye 1.8.7  consul"
  "prometheus               bullseye 2.24.1 prometheus"
  "prometheus-node-exporter bookworm 1.5.0  node_exporter"
  "prometheus               bookworm 2.42.0 prometheus"
  "cadvisor                 bullseye 0.38.7 cadvisor"
)

MIRROR=$LAB_CACHE/mirror
# The address lab hosts download from, as the release API's browser_download_url gives it.
LAB_MIRROR_URL_INNER=http://$LAB_MIRROR_IP:$LAB_MIRROR_PORT
APT=$LAB_CACHE/apt
key=$(sha256sum "$0" | cut -c1-12)

apt_private() {
  apt-get -q -o Dir::Etc::sourcelist="$APT/sources.list" -o Dir::Etc::sourceparts=/dev/null \
    -o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache" -o Dir::State::status=/dev/null \
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

fetch_debs() {
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
  printf 'deb %s %s main\n' "$DEBIAN_MIRROR" bullseye "$DEBIAN_MIRROR" bookworm > "$APT/sources.list"
  retry 3 apt_private update > "$APT/update.log" 2>&1 || { cat "$APT/update.log" >&2; die "apt update (private lists) failed"; }
  local line pkg suite
  for line in "${ARTIFACTS[@]}"; do
    read -r pkg suite _ <<< "$line"
    # Pin the suite: bookworm also has consul/prometheus, but not the builds we need.
    mkdir -p "$APT/debs/$suite"
    (cd "$APT/debs/$suite" && retry 3 apt_private download "$pkg/$suite") > "$APT/download.log" 2>&1 \
      || { cat "$APT/download.log" >&2; die "download of $pkg/$suite failed"; }
  done
}

# reproducible_tgz OUT DIR-PARENT DIR
reproducible_tgz() {
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$2" -cf - "$3" | gzip -n -9 > "$1"
}

# zip with a fixed timestamp and an executable entry, like HashiCorp's release zips.
reproducible_zip() {
  python3 - "$1" "$2" <<'PY'
import sys, zipfile
out, src = sys.argv[1:]
info = zipfile.ZipInfo("consul", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(out, "w") as z, open(src, "rb") as f:
    z.writestr(info, f.read())
PY
}

# release_json DIR TAG DOWNLOAD-URL: GitHub's "get a release by tag" answer for the files of DIR,
# each asset with its name, size, browser_download_url and "digest": "sha256:<hex>".
release_json() {
  python3 - "$@" <<'PY'
import hashlib, json, os, sys
folder, tag, base = sys.argv[1:]
assets = []
for i, name in enumerate(sorted(os.listdir(folder)), 1):
    with open(os.path.join(folder, name), "rb") as f:
        data = f.read()
    assets.append({"id": i, "name": name, "label": "", "state": "uploaded", "content_type": "application/octet-stream",
                   "size": len(data), "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                   "browser_download_url": "%s/%s" % (base, name)})
print(json.dumps({"tag_name": tag, "name": tag, "draft": False, "prerelease": False, "assets": assets}, indent=2))
PY
}

repackage() {
  local line pkg suite ver kind x deb dir stage
  stage=$(mktemp -d "$LAB_STATE/mirror-stage.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$stage'" RETURN
  for line in "${ARTIFACTS[@]}"; do
    read -r pkg suite ver kind <<< "$line"
    deb=$(find "$APT/debs/$suite" -name "${pkg}_*.deb" | sort | tail -1)
    x=$stage/x-$pkg; mkdir -p "$x"; dpkg-deb -x "$deb" "$x"
    case $kind in
      consul)
        dir=$stage/hashicorp/consul/$ver; mkdir -p "$dir"
        reproducible_zip "$dir/consul_${ver}_linux_amd64.zip" "$x/usr/bin/consul"
        (cd "$dir" && sha256sum "consul_${ver}_linux_amd64.zip" > "consul_${ver}_SHA256SUMS") ;;
      prometheus)
        local top=prometheus-$ver.linux-amd64
        rm -rf "$stage/t"; mkdir -p "$stage/t/$top"
        install -m 0755 "$x/usr/bin/prometheus" "$stage/t/$top/prometheus"
        install -m 0755 "$x/usr/bin/promtool" "$stage/t/$top/promtool"
        cp "$x/usr/share/doc/prometheus/copyright" "$stage/t/$top/LICENSE"
        dir=$stage/github/prometheus/prometheus/releases/download/v$ver; mkdir -p "$dir"
        reproducible_tgz "$dir/$top.tar.gz" "$stage/t" "$top"
        (cd "$dir" && sha256sum "$top.tar.gz" > sha256sums.txt) ;;
      cadvisor)
        local bin=cadvisor-v$ver-linux-amd64
        dir=$stage/github/google/cadvisor/releases/download/v$ver; mkdir -p "$dir"
        install -m 0755 "$x/usr/bin/cadvisor" "$dir/$bin"
        touch -d @0 "$dir/$bin"
        (cd "$dir" && sha256sum "$bin" > "$bin.sha256")
        # GitHub's release API answer for the tag, at GitHub's path under api/github: the role reads
        # the asset's digest from it when cadvisor_checksum is empty (production's path, only the
        # base URL changed). Served as octet-stream by http.server; the role reads the text.
        mkdir -p "$stage/api/github/repos/google/cadvisor/releases/tags"
        release_json "$dir" "v$ver" "$LAB_MIRROR_URL_INNER/github/google/cadvisor/releases/download/v$ver" \
          > "$stage/api/github/repos/google/cadvisor/releases/tags/v$ver" ;;
      node_exporter)
        local top=node_exporter-$ver.linux-amd64
        rm -rf "$stage/t"; mkdir -p "$stage/t/$top"
        install -m 0755 "$x/usr/bin/prometheus-node-exporter" "$stage/t/$top/node_exporter"
        cp "$x/usr/share/doc/prometheus-node-exporter/copyright" "$stage/t/$top/LICENSE"
        dir=$stage/github/prometheus/node_exporter/releases/download/v$ver; mkdir -p "$dir"
        reproducible_tgz "$dir/$top.tar.gz" "$stage/t" "$top"
        (cd "$dir" && sha256sum "$top.tar.gz" > sha256sums.txt) ;;
    esac
  done
  rm -rf "$stage/t" "$stage"/x-*
  rm -rf "$MIRROR.new"; mv "$stage" "$MIRROR.new"
  rm -rf "$MIRROR"; mv "$MIRROR.new" "$MIRROR"
  chmod -R a+rX "$MIRROR"
  echo "$key" > "$MIRROR/.recipe"
}

if [ -f "$MIRROR/.recipe" ] && [ "$(cat "$MIRROR/.recipe")" = "$key" ]; then
  log "mirror up to date ($MIRROR)"
  exit 0
fi
log "building the artifact mirror from Debian's archive"
fetch_debs
repackage
find "$MIRROR" -type f ! -name .recipe | sed "s|^$MIRROR/|  |" >&2
