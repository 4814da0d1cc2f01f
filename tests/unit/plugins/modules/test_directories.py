"""directories: several folders made in one run, each with its owner, group and mode; nothing is
changed when one of them is refused."""

import grp
import os
import pwd
import stat

from ansible_collections.sdstack.consul.plugins.filter.consul_topology import consul_folders
from ansible_collections.sdstack.consul.plugins.modules import directories

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_missing_folders_are_made_with_their_modes(tmp_path, run_module):
    a, b = tmp_path / "etc" / "consul.d", tmp_path / "opt" / "consul" / "node1"
    got = run_module(directories, None, paths=[{"path": str(a), "owner": ME, "group": MY_GROUP, "mode": "0750"},
                                               {"path": str(b), "mode": "0700"}])
    assert got["changed"] is True
    assert got["paths"] == [{"path": str(a), "created": True, "changed": True},
                            {"path": str(b), "created": True, "changed": True}]
    assert (mode(a), mode(b)) == (0o750, 0o700)
    assert [d["before"]["state"] for d in got["diff"]] == ["absent", "absent"]


def test_a_second_run_changes_nothing(tmp_path, run_module):
    paths = [{"path": str(tmp_path / "a"), "mode": "0750"}, {"path": str(tmp_path / "b"), "mode": "0755"}]
    run_module(directories, None, paths=paths)
    again = run_module(directories, None, paths=paths)
    assert again["changed"] is False and again["diff"] == []
    assert [p["changed"] for p in again["paths"]] == [False, False]


def test_a_wrong_mode_is_set_and_shown_in_the_diff(tmp_path, run_module):
    d = tmp_path / "a"
    d.mkdir(mode=0o777)
    os.chmod(d, 0o777)
    got = run_module(directories, None, paths=[{"path": str(d), "mode": "0750"}])
    assert got["changed"] is True and got["paths"][0]["created"] is False and mode(d) == 0o750
    assert got["diff"][0]["before"]["mode"] == "0777" and got["diff"][0]["after"]["mode"] == "0750"


def test_check_mode_reports_without_making_anything(tmp_path, run_module):
    d, existing = tmp_path / "new", tmp_path / "old"
    existing.mkdir()
    os.chmod(existing, 0o777)
    got = run_module(directories, None, paths=[{"path": str(d), "mode": "0750"},
                                               {"path": str(existing), "mode": "0750"}], _ansible_check_mode=True)
    assert got["changed"] is True and [p["changed"] for p in got["paths"]] == [True, True]
    assert not d.exists() and mode(existing) == 0o777


def test_a_file_in_the_way_is_refused_before_anything_changes(tmp_path, run_module):
    first, file_ = tmp_path / "first", tmp_path / "file"
    file_.write_text("x")
    got = run_module(directories, None, paths=[{"path": str(first)}, {"path": str(file_)}])
    assert got["failed"] is True
    assert got["msg"] == "directories: %s exists and is not a directory; nothing was changed" % file_
    assert not first.exists()


def test_a_relative_path_is_refused(run_module):
    got = run_module(directories, None, paths=[{"path": "etc/consul.d"}])
    assert got["failed"] is True and got["msg"] == "directories: 'etc/consul.d' is not an absolute path; nothing was changed"


def test_an_unknown_owner_names_the_folder(tmp_path, run_module):
    got = run_module(directories, None, paths=[{"path": str(tmp_path / "a"), "owner": "no-such-user-sdstack"}])
    assert got["failed"] is True and "no-such-user-sdstack" in got["msg"] and "\n" not in got["msg"]


def test_consul_folders_of_two_instances():
    instances = [{"name": "node1", "data_dir": "/opt/consul/node1"}, {"name": "node2", "data_dir": "/opt/consul/node2"}]
    assert consul_folders(instances, "/etc/consul.d", "consul", "consul") == [
        {"path": "/etc/consul.d", "owner": "root", "group": "consul", "mode": "0750"},
        {"path": "/etc/consul.d/node1", "owner": "root", "group": "consul", "mode": "0750"},
        {"path": "/etc/consul.d/node2", "owner": "root", "group": "consul", "mode": "0750"},
        {"path": "/opt/consul/node1", "owner": "consul", "group": "consul", "mode": "0750"},
        {"path": "/opt/consul/node2", "owner": "consul", "group": "consul", "mode": "0750"},
        {"path": "/etc/systemd/system/consul@node1.service.d", "owner": "root", "group": "root", "mode": "0755"},
        {"path": "/etc/systemd/system/consul@node2.service.d", "owner": "root", "group": "root", "mode": "0755"},
    ]
