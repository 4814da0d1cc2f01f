"""The README's other route: build the collection from a fresh clone, install the tarball where
`ansible-galaxy collection install` puts it by default (~/.ansible/collections), and run
sdstack.consul.site from a folder outside the repository with a copy of a shipped inventory."""

import json
import shutil
import tarfile

import pytest

from fresh_clone import run, user_home

# Running from a clone only: not part of what operators install.
CLONE_ONLY = {"site.yml", "ansible.cfg", "collections", ".ansible-lint"}


@pytest.fixture(scope="module")
def installed(clone, tmp_path_factory):
    """(tarball, the user's HOME with the collection installed, a working folder outside the repo)."""
    home = user_home(tmp_path_factory.mktemp("tarball-home"))
    dist = tmp_path_factory.mktemp("dist")
    run(["ansible-galaxy", "collection", "build", "--output-path", str(dist)], clone, home)
    (tarball,) = dist.glob("sdstack-consul-*.tar.gz")
    work = tmp_path_factory.mktemp("operator")
    # --no-deps: Galaxy is unreachable here; community.crypto is already in ~/.ansible/collections.
    run(["ansible-galaxy", "collection", "install", "--no-deps", str(tarball)], work, home)
    return tarball, home, work


def test_tarball_holds_no_clone_only_files(installed):
    with tarfile.open(installed[0]) as t:
        tops = {n.split("/")[0] for n in t.getnames()}
    assert not tops & CLONE_ONLY, sorted(tops & CLONE_ONLY)


def test_installed_where_galaxy_installs_by_default(installed):
    _tarball, home, work = installed
    found = json.loads(run(["ansible-galaxy", "collection", "list", "--format", "json"], work, home))
    where = {name: path for path, colls in found.items() for name in colls}
    assert where.get("sdstack.consul") == str(home / ".ansible" / "collections" / "ansible_collections"), found


@pytest.mark.parametrize("inventory", ["cluster", "seed", "multidc"])
def test_site_playbook_syntax_checks_outside_the_repository(installed, inventory):
    _tarball, home, work = installed
    collection = home / ".ansible" / "collections" / "ansible_collections" / "sdstack" / "consul"
    mine = work / f"my-{inventory}"
    shutil.copytree(collection / "inventories" / inventory, mine)
    out = run(["ansible-playbook", "-i", mine.name, "sdstack.consul.site", "--syntax-check"], work, home)
    # The installed copy's playbook, nothing of the clone's.
    assert f"playbook: {collection / 'playbooks' / 'site.yml'}" in out, out
