"""consul_restart_plan: which running instances a run restarts, from registered results."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.consul_restart_plan import consul_restart_plan

LOCAL = [{"name": "node1"}, {"name": "node2"}, {"name": "node3"}]
UNCHANGED = {"changed": False}


def loop(*changed, skipped=False):
    """A registered loop result in which the named items changed."""
    out = {"changed": bool(changed), "results": [{"changed": i["name"] in changed, "item": i} for i in LOCAL]}
    if skipped:
        out = {"changed": False, "skipped": True, "results": [{"skipped": True, "changed": False, "item": i}
                                                              for i in LOCAL]}
    return out


def member(name, version):
    return {"name": name, "version": version, "status": "alive"}


def plan(mode="changed", version="1.8.7", members=(), started=None, unit=None, tls=None, configs=()):
    got = consul_restart_plan(LOCAL, mode, version, list(members), started=started or loop(), unit=unit or UNCHANGED,
                              tls=tls or UNCHANGED,
                              configs=list(configs) or [loop(), loop(), loop()])
    return [i["name"] for i in got]


def test_nothing_changed_restarts_nothing():
    assert plan(members=[member("node1", "1.8.7"), member("node2", "1.8.7")]) == []


def test_changed_files_restart_their_instances_once_in_order():
    assert plan(configs=[loop("node3"), loop("node1", "node3"), loop()]) == ["node1", "node3"]


def test_a_changed_drop_in_restarts_its_instance():
    assert plan(configs=[loop(), loop(), loop("node2")]) == ["node2"]


@pytest.mark.parametrize("over", [{"unit": {"changed": True}}, {"tls": loop("node1")}, {"mode": "all"}])
def test_unit_tls_or_mode_all_restart_every_instance(over):
    assert plan(**over) == ["node1", "node2", "node3"]


def test_skipped_tls_files_change_nothing():
    assert plan(tls=loop(skipped=True)) == []


def test_instances_started_by_this_run_are_left_alone():
    assert plan(mode="all", started=loop("node2")) == ["node1", "node3"]
    assert plan(configs=[loop("node2")], started=loop("node2"), members=[member("node2", "1.8.6")]) == []


def test_running_another_version_restarts():
    members = [member("node1", "1.8.6"), member("node2", "1.8.7"), member("node3", ""), member("other", "1.8.6")]
    assert plan(members=members) == ["node1"]


@pytest.mark.parametrize("running", ["1.9.0-rc1", "1.9.0rc1"])
def test_pre_release_tags_with_or_without_dash_match(running):
    assert plan(version="1.9.0-rc1", members=[member("node1", running)]) == []


def test_a_release_is_not_its_pre_release():
    assert plan(version="1.9.0", members=[member("node1", "1.9.0rc1")]) == ["node1"]


def test_unknown_mode_is_one_line():
    with pytest.raises(AnsibleFilterError) as e:
        plan(mode="some")
    assert str(e.value) == "consul_restart_mode: 'some' is not one of changed, all"


def test_members_must_be_a_list():
    with pytest.raises(AnsibleFilterError, match="^consul_restart_plan: members must be a list, got 'x'$"):
        consul_restart_plan(LOCAL, "changed", "1.8.7", "x")
