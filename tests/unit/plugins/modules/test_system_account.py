"""system_account: a system group and a system user in it, made or mended in one run.

The module runs the real groupadd, useradd and usermod, in a private mount namespace whose /etc is
a copy of this machine's (unshare -m, as root): the accounts it makes exist only in that copy."""

import json
import shutil
import subprocess
import sys

import pytest


@pytest.fixture(name="etc")
def fixture_etc(tmp_path):
    copy = tmp_path / "etc"
    shutil.copytree("/etc", copy, symlinks=True)
    return copy


@pytest.fixture(name="account")
def fixture_account(etc, collections, tmp_path):
    """account(check=False, **args) -> the module's result, run against the copy of /etc."""

    def run(check=False, **args):
        if check:
            args["_ansible_check_mode"] = True
        args_file = tmp_path / "args.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        cmd = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc && exec "$@"', str(etc), sys.executable, "-m",
               "ansible_collections.sdstack.consul.plugins.modules.system_account", str(args_file)]
        run_ = subprocess.run(cmd, capture_output=True, text=True, check=False,
                              env={"PYTHONPATH": str(collections), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        assert run_.stdout, run_.stderr
        return json.loads(run_.stdout)
    return run


def entry(etc, table, name):
    """The /etc/<table> line of ``name`` in the copy, split on colons, or None."""
    for line in (etc / table).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    return None


def test_a_missing_group_and_user_are_made_as_system_accounts(etc, account):
    got = account(name="consul", home="/opt/consul")
    assert got["changed"] is True and got["diff"]["before"] == {"group": "absent", "user": "absent"}
    user, group = entry(etc, "passwd", "consul"), entry(etc, "group", "consul")
    assert user[3] == group[2] == str(got["gid"]) and user[2] == str(got["uid"])
    assert user[5:] == ["/opt/consul", "/usr/sbin/nologin"]
    assert got["uid"] < 1000 and got["gid"] < 1000, "not a system account"


def test_a_second_run_changes_nothing(account):
    first = account(name="consul", home="/opt/consul")
    again = account(name="consul", home="/opt/consul")
    assert again["changed"] is False and again["diff"] == {}
    assert (again["uid"], again["gid"]) == (first["uid"], first["gid"])


def test_a_user_in_another_group_with_another_home_and_shell_is_mended_in_place(etc, account):
    first = account(name="node-exp", home="/nonexistent")
    got = account(name="node-exp", group="metrics", home="/var/lib/node-exp", shell="/bin/false")
    assert got["changed"] is True
    assert got["diff"]["before"]["primary_group"] == "node-exp" and got["diff"]["after"]["primary_group"] == "metrics"
    user = entry(etc, "passwd", "node-exp")
    assert user[2] == str(first["uid"]), "the user's id changed"
    assert user[3] == entry(etc, "group", "metrics")[2] and user[5:] == ["/var/lib/node-exp", "/bin/false"]


def test_check_mode_reports_without_making_anything(etc, account):
    got = account(check=True, name="consul", home="/opt/consul")
    assert got["changed"] is True and got["uid"] is None and got["gid"] is None
    assert entry(etc, "passwd", "consul") is None and entry(etc, "group", "consul") is None


def test_an_existing_account_that_matches_is_left_alone(account):
    # Every Debian system has root, in group root, home /root.
    got = account(name="root", home="/root", shell="/bin/bash")
    assert got["changed"] is False and (got["uid"], got["gid"]) == (0, 0)


@pytest.mark.parametrize("args,message", [
    ({"name": "Consul", "home": "/opt/consul"},
     "name 'Consul' is not an account name (lower-case letters, digits, _ and -, at most 32)"),
    ({"name": "consul", "group": "con sul", "home": "/opt/consul"},
     "group 'con sul' is not an account name (lower-case letters, digits, _ and -, at most 32)"),
    ({"name": "consul", "home": "opt/consul"}, "home 'opt/consul' is not an absolute path"),
], ids=["upper-case-name", "space-in-group", "relative-home"])
def test_bad_input_is_one_line_naming_the_value_and_changes_nothing(etc, account, args, message):
    before = (etc / "passwd").read_text(), (etc / "group").read_text()
    got = account(**args)
    assert got["failed"] is True and got["msg"] == "system_account: %s; nothing was changed" % message
    assert ((etc / "passwd").read_text(), (etc / "group").read_text()) == before


def test_a_command_that_fails_is_one_line_naming_the_account(etc, account):
    # No system user id left (the range holds only uid 5, taken): useradd's own refusal, reported as one line.
    account(name="svc-a", home="/nonexistent")
    (etc / "login.defs").write_text((etc / "login.defs").read_text() + "\nSYS_UID_MIN 5\nSYS_UID_MAX 5\n")
    got = account(name="svc-b", home="/nonexistent")
    assert got["failed"] is True and "\n" not in got["msg"]
    assert got["msg"].startswith("system_account: useradd of user svc-b failed (exit code ")
