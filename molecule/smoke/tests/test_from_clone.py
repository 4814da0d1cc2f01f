"""A new user's run of site.yml from a fresh clone, against a real lab host (smoke1): as a normal
user with sudo (become), a --check run first (it must change nothing), then converging
node_exporter (its Consul registration off: smoke's hosts run no agent), then a rerun and a --check
run that report no change.

The clone is a `git clone` of this checkout's commit; the runs see no ANSIBLE_* variable (Molecule's
ANSIBLE_CONFIG would hide the clone's ansible.cfg), a temporary HOME whose ~/.ansible/collections
holds what the user installed (community.crypto, and containers.podman for the lab's connection),
and the lab's extra vars (release versions, mirror) as `make demo` passes them.

Lab hosts are Podman containers reached with containers.podman.podman: its remote_user
(ansible_user) runs every command with `podman exec --user operator1` and hands copied files to that
user, so the play works as operator1 would over SSH, and become goes through the host's sudo. One
difference from SSH: podman exec may keep the container's HOME (/root) for operator1, so the
inventory puts Ansible's remote temporary folder under /tmp."""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from sdstack_molecule.playbook_run import failed_results, recap

testinfra_hosts = ["smoke1"]

REPO = Path(__file__).resolve().parents[3]
HOST = "smoke1"
USER = "operator1"
COLLECTIONS = REPO / ".lab" / "collections" / "ansible_collections"
BINARY = "/usr/local/bin/node_exporter"
UNIT = "/etc/systemd/system/node_exporter.service"
REMOTE_TMP = f"/tmp/.ansible-{USER}"
INVENTORY = f"""
all:
  hosts:
    {HOST}:
      ansible_connection: containers.podman.podman
      ansible_user: {USER}
      # podman exec may hand every user the container's HOME (/root), where an SSH login would
      # give operator1 its own: Ansible's temporary files go where operator1 can write either way.
      ansible_remote_tmp: {REMOTE_TMP}
  children:
    node_exporter:
      hosts:
        {HOST}:
      vars:
        # No Consul agent on smoke's hosts.
        node_exporter_consul_register: false
"""
# sudo's own log line for a command run as root on operator1's behalf, e.g.
# "operator1 : PWD=/home/operator1 ; USER=root ; COMMAND=/bin/sh -c '?echo BECOME-SUCCESS-... ; /usr/bin/python3 ..."
SUDO_LINE = re.compile(rf"^\s*{USER} : .*USER=root ; COMMAND=/bin/sh -c '?echo BECOME-SUCCESS-", re.M)


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    """Run ansible-playbook from a fresh clone as the new user would; returns run(*args) -> (rc, output)."""
    root = tmp_path_factory.mktemp("from-clone")
    clone = root / "consul"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, capture_output=True)
    home = root / "home"
    for coll in ("community/crypto", "containers/podman"):
        link = home / ".ansible" / "collections" / "ansible_collections" / coll
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(COLLECTIONS / coll)
    (root / "inventory.yml").write_text(INVENTORY)
    # The lab's podman settings (CONTAINERS_*), PATH and the mirror's address stay; no ANSIBLE_* and
    # no download cache of Molecule's (a new user starts with none).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "XDG_CACHE_HOME"}
    env.update(HOME=str(home), NO_COLOR="1")

    def run(*args):
        cmd = ["ansible-playbook", "-i", str(root / "inventory.yml"), "site.yml", "-e", "@lab/lab-vars.yml",
               "--limit", HOST, *args]
        proc = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=900, check=False)
        return proc.returncode, proc.stdout + proc.stderr

    return run


@pytest.fixture(scope="module")
def operator(host):
    """operator1: a normal user with a home and password-less sudo, as cloud images set one up."""
    host.run_expect([0], f"id {USER} || useradd --create-home --shell /bin/bash {USER}")
    sudoers = f"/etc/sudoers.d/{USER}"
    host.run_expect([0], f"echo '{USER} ALL=(ALL) NOPASSWD:ALL' > {sudoers} && chmod 0440 {sudoers} && visudo -cf {sudoers}")
    assert not host.file(BINARY).exists, "smoke1 must start without node_exporter"
    return USER


def _assert_ok(rc, out):
    assert rc == 0, " | ".join(r.get("msg", "") for r in failed_results(out)) or out[-3000:]


def _sudo_lines(host):
    """sudo's journal lines for commands it ran as root for operator1."""
    return SUDO_LINE.findall(host.run("journalctl --no-pager -o cat SYSLOG_IDENTIFIER=sudo").stdout)


def _sudo_lines_after(host, before):
    """The lines beyond the first ``before`` ones (journald may take a moment to store them)."""
    deadline = time.monotonic() + 15
    while True:
        lines = _sudo_lines(host)[before:]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(1)


@pytest.fixture(scope="module")
def fresh_check(host, operator, user_run):
    """A --check run before anything of node_exporter is on the host: (rc, output)."""
    return user_run("--check")


def test_check_mode_on_a_fresh_host_changes_nothing(host, fresh_check):
    _rc, out = fresh_check
    # It reached the host as operator1 (a run that never connected would change nothing too).
    assert recap(out)[HOST]["unreachable"] == 0, out[-3000:]
    for path in (BINARY, UNIT):
        assert not host.file(path).exists, path
    assert host.run("getent passwd node-exp").rc == 2, "check mode created the system user"


def test_check_mode_on_a_fresh_host_succeeds(fresh_check):
    _assert_ok(*fresh_check)


def test_a_normal_user_with_sudo_converges_site_yml(host, operator, user_run):
    sudo_before = len(_sudo_lines(host))
    rc, out = user_run()
    _assert_ok(rc, out)
    assert recap(out)[HOST]["changed"] > 0, out[-3000:]
    for path in (BINARY, UNIT):
        f = host.file(path)
        assert f.exists and (f.user, f.group) == ("root", "root"), path
    assert host.service("node_exporter").is_running
    assert host.service("node_exporter").is_enabled
    # The connection really was operator1 (it made Ansible's temporary folder) ...
    assert host.file(REMOTE_TMP).user == operator
    # ... and root came from sudo, on operator1's behalf.
    assert _sudo_lines_after(host, sudo_before), host.run("journalctl --no-pager -o cat SYSLOG_IDENTIFIER=sudo").stdout[-2000:]


def test_the_users_rerun_changes_nothing(host, operator, user_run):
    rc, out = user_run()
    _assert_ok(rc, out)
    assert recap(out)[HOST]["changed"] == 0, out[-3000:]
    assert recap(out)[HOST]["failed"] == 0


def test_check_mode_from_the_clone_reports_no_change_on_the_converged_host(host, operator, user_run):
    before = host.file(UNIT).mtime
    rc, out = user_run("--check", "--diff")
    _assert_ok(rc, out)
    assert recap(out)[HOST]["changed"] == 0, out[-3000:]
    assert host.file(UNIT).mtime == before
