"""The artifact mirror must look like the upstream release sites, so the roles' production
download path works against it unchanged."""

import hashlib
import json
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

MIRROR = Path(os.environ.get("LAB_MIRROR_DIR", Path(__file__).resolve().parents[2] / ".lab/cache/mirror"))
GH = MIRROR / "github" / "prometheus"

RELEASES = [
    # (checksum file, archive, members that must be there)
    (MIRROR / "hashicorp/consul/1.8.7/consul_1.8.7_SHA256SUMS",
     "consul_1.8.7_linux_amd64.zip", ["consul"]),
    (GH / "prometheus/releases/download/v2.24.1/sha256sums.txt",
     "prometheus-2.24.1.linux-amd64.tar.gz",
     ["prometheus-2.24.1.linux-amd64/prometheus", "prometheus-2.24.1.linux-amd64/promtool"]),
    (GH / "node_exporter/releases/download/v1.5.0/sha256sums.txt",
     "node_exporter-1.5.0.linux-amd64.tar.gz", ["node_exporter-1.5.0.linux-amd64/node_exporter"]),
    # Debian bookworm's build, without Consul SD: the prometheus role must refuse it.
    (GH / "prometheus/releases/download/v2.42.0/sha256sums.txt",
     "prometheus-2.42.0.linux-amd64.tar.gz",
     ["prometheus-2.42.0.linux-amd64/prometheus", "prometheus-2.42.0.linux-amd64/promtool"]),
]
CADVISOR = MIRROR / "github/google/cadvisor/releases/download/v0.38.7/cadvisor-v0.38.7-linux-amd64"
# GitHub's release API path under the mirror's api/github base (cadvisor_release_api_url).
CADVISOR_API = MIRROR / "api/github/repos/google/cadvisor/releases/tags/v0.38.7"


def _entries(sums):
    return dict(reversed(line.split()) for line in sums.read_text().splitlines() if line.strip())


@pytest.mark.parametrize("sums,archive", [r[:2] for r in RELEASES], ids=[r[1] for r in RELEASES])
def test_checksum_file_matches_archive(sums, archive):
    listed = _entries(sums)
    assert archive in listed, f"{sums.name} does not list {archive}"
    assert hashlib.sha256((sums.parent / archive).read_bytes()).hexdigest() == listed[archive]


@pytest.mark.parametrize("sums,archive,members", RELEASES, ids=[r[1] for r in RELEASES])
def test_archive_layout_is_upstreams(sums, archive, members):
    path = sums.parent / archive
    if archive.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        # HashiCorp's zips hold the bare binary at the root, nothing else.
        assert names == members
    else:
        with tarfile.open(path) as t:
            names = t.getnames()
            modes = {m.name: m.mode for m in t.getmembers()}
        top = {n.split("/")[0] for n in names}
        assert top == {archive[: -len(".tar.gz")]}, "one top-level folder named like the archive"
        assert set(members) <= set(names)
    for m in members:
        assert modes[m] & stat.S_IXUSR, f"{m} must be executable"


def test_every_archive_is_listed():
    for sums in (r[0] for r in RELEASES):
        archives = {p.name for p in sums.parent.iterdir() if p != sums}
        assert archives == set(_entries(sums)), f"unlisted or missing archives in {sums.parent}"


def test_cadvisor_is_a_bare_executable_with_its_sum():
    # Upstream ships cAdvisor as one binary per platform, no archive.
    assert CADVISOR.stat().st_mode & stat.S_IXUSR
    assert CADVISOR.read_bytes()[:4] == b"\x7fELF"
    digest, name = (CADVISOR.parent / (CADVISOR.name + ".sha256")).read_text().split()
    assert name == CADVISOR.name
    assert hashlib.sha256(CADVISOR.read_bytes()).hexdigest() == digest


def test_cadvisor_release_api_answer_lists_the_served_binarys_digest():
    # The cadvisor role reads this as it reads api.github.com: the asset named like the file it
    # downloads, its "digest" the sha256 of the binary the mirror serves.
    release = json.loads(CADVISOR_API.read_text())
    assert release["tag_name"] == "v0.38.7"
    assets = {a["name"]: a for a in release["assets"]}
    served = {p.name for p in CADVISOR.parent.iterdir()}
    assert set(assets) == served, "the API lists every file of the release folder, nothing else"
    for name, asset in assets.items():
        data = (CADVISOR.parent / name).read_bytes()
        assert asset["digest"] == "sha256:" + hashlib.sha256(data).hexdigest(), name
        assert asset["size"] == len(data)
        assert asset["browser_download_url"].endswith("/github/google/cadvisor/releases/download/v0.38.7/" + name)
