"""Smoke: Consul installed from the lab mirror through each install path, and a tampered
archive refused before anything lands on the host."""

import hashlib
import os
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VERSION = "1.8.7"
MIRROR_DIR = Path(os.environ["LAB_MIRROR_DIR"])
MIRROR_URL = os.environ["LAB_MIRROR_URL"]
RELEASE = MIRROR_DIR / "hashicorp" / "consul" / VERSION
ZIP = f"consul_{VERSION}_linux_amd64.zip"
TAMPER_DIR = "/opt/tamper-test"


def _mirror_binary_sha256():
    with zipfile.ZipFile(RELEASE / ZIP) as z:
        return hashlib.sha256(z.read("consul")).hexdigest()


def test_consul_binary_installed(host):
    f = host.file("/usr/local/bin/consul")
    assert f.is_file
    assert f.user == "root" and f.group == "root"
    assert f.mode == 0o755


def test_consul_version_runs(host):
    out = host.check_output("/usr/local/bin/consul version")
    assert out.splitlines()[0] == f"Consul v{VERSION}"


def test_installed_binary_is_the_mirrored_one(host):
    sha = host.check_output("sha256sum /usr/local/bin/consul").split()[0]
    assert sha == _mirror_binary_sha256()


def test_archive_fetched_where_the_install_path_says(host):
    # Only the host-download path (smoke2) keeps the archive on the host.
    cached = host.file(f"/var/cache/sdstack.consul/consul/{ZIP}")
    assert cached.exists == (host.backend.get_hostname() == "smoke2")


@pytest.fixture(scope="module")
def tampered_release():
    """A mirror copy of the release under another version whose zip no longer matches the
    (genuine) checksum listed for it."""
    root = MIRROR_DIR / f"tampered-{uuid.uuid4().hex[:8]}"
    version = "0.0.1"
    rel = root / "consul" / version
    rel.mkdir(parents=True)
    name = f"consul_{version}_linux_amd64.zip"
    data = (RELEASE / ZIP).read_bytes()
    genuine = hashlib.sha256(data).hexdigest()
    # Appended bytes keep the zip unpackable: only the checksum can catch it.
    (rel / name).write_bytes(data + b"tampered")
    (rel / f"consul_{version}_SHA256SUMS").write_text(f"{genuine}  {name}\n")
    for p in (root, rel.parent, rel, *rel.iterdir()):
        p.chmod(0o755 if p.is_dir() else 0o644)
    yield {"version": version, "base_url": f"{MIRROR_URL}/{root.name}/consul", "zip": rel / name}
    shutil.rmtree(root)


def test_tampered_archive_installs_nothing(host, tampered_release, tmp_path):
    name = host.backend.get_hostname()
    extra = [
        "-e", f"consul_version={tampered_release['version']}",
        "-e", f"consul_release_base_url={tampered_release['base_url']}",
        "-e", f"consul_bin_dir={TAMPER_DIR}/bin",
    ]
    if name == "smoke3":
        extra += ["-e", f"consul_archive_path={tampered_release['zip']}"]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".lab" / "collections"),
               XDG_CACHE_HOME=str(tmp_path), ANSIBLE_NOCOLOR="1")
    run = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", name,
         str(Path(__file__).parents[1] / "tamper.yml"), *extra],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert ("did not match" in out) or ("checksum mismatch" in out), out
    assert not host.file(TAMPER_DIR).exists
    assert not [p for p in tmp_path.rglob("consul") if p.is_file()], "nothing may be unpacked on the controller"
    assert not list(tmp_path.rglob("*.zip")), "a refused download must not stay in the cache"
