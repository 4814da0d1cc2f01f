"""`ansible-galaxy collection build` output installs and exposes the content under its FQCN,
without the lab and test suite."""

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(*cmd, cwd, collections=None):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    # Only what the tarball installed may be visible, not this checkout's link.
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    # Outside the checkout: its ansible.cfg lists the checkout itself as sdstack.consul, and
    # `collection install` would then find the collection "already installed" and do nothing.
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    _run("ansible-galaxy", "collection", "build", "--output-path", str(out), str(REPO), cwd=out)
    (tarball,) = out.glob("sdstack-consul-*.tar.gz")
    dest = tmp_path_factory.mktemp("collections")
    # --no-deps: Galaxy (community.crypto) is unreachable here; the tests below need only this tarball.
    _run("ansible-galaxy", "collection", "install", "--no-deps", "-p", str(dest), str(tarball), cwd=out)
    return tarball, dest


def test_tarball_leaves_out_lab_and_tests(installed):
    tarball = installed[0]
    with tarfile.open(tarball) as t:
        tops = {n.split("/")[0] for n in t.getnames()}
    assert {"roles", "plugins", "meta", "galaxy.yml", "MANIFEST.json"} & tops == {"roles", "plugins", "meta", "MANIFEST.json"}
    assert not tops & {".lab", "lab", "molecule", "tests", ".ci", "Makefile", ".git"}


def test_installed_collection_is_listed(installed):
    dest = installed[1]
    out = _run("ansible-galaxy", "collection", "list", "sdstack.consul", "-p", str(dest), "--format", "json", cwd=dest).stdout
    found = {name for coll in json.loads(out).values() for name in coll}
    assert "sdstack.consul" in found


def test_content_resolves_by_fqcn(installed):
    dest = installed[1]
    doc = _run("ansible-doc", "-t", "filter", "--json", "sdstack.consul.checksum_entry", collections=dest, cwd=dest).stdout
    assert json.loads(doc)["sdstack.consul.checksum_entry"]["doc"]["name"] == "checksum_entry"
    roles = _run("ansible-doc", "-t", "role", "--list", "--json", "sdstack.consul", collections=dest, cwd=dest).stdout
    assert {"sdstack.consul.consul", "sdstack.consul._artifact"} <= set(json.loads(roles))
