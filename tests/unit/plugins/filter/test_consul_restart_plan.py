"""consul_restart_plan: which running instances a run restarts, from registered results."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.consul_restart_plan import consul_restart_batches, consul_restart_plan

LOCAL = [{"name": "node1"}, {"name": "node2"}, {"name": "node3"}]


def loop(*changed):
    """A registered sdstack.consul.systemd_units result that started the named instances' units."""
    return {"changed": bool(changed), "started": ["consul@%s.service" % n for n in changed], "units": []}


def written(*labels, unchanged=()):
    """A registered sdstack.consul.files result in which the files labelled ``labels`` changed
    (None: a file every instance reads, such as the unit)."""
    files = [{"path": "/f/%s" % i, "label": l, "changed": True} for i, l in enumerate(labels)]
    files += [{"path": "/u/%s" % i, "label": l, "changed": False} for i, l in enumerate(unchanged)]
    return {"changed": bool(labels), "files": files}


def member(name, version):
    return {"name": name, "version": version, "status": "alive"}


def plan(mode="changed", version="1.8.7", members=(), started=None, files=()):
    got = consul_restart_plan(LOCAL, mode, version, list(members), started=started or loop(),
                              files=list(files) or [written(unchanged=["node1", None]), written()])
    return [i["name"] for i in got]


def test_nothing_changed_restarts_nothing():
    assert plan(members=[member("node1", "1.8.7"), member("node2", "1.8.7")]) == []


def test_changed_files_restart_their_instances_once_in_order():
    assert plan(files=[written("node3", unchanged=["node2", None]), written("node1", "node3")]) == ["node1", "node3"]


def test_a_changed_drop_in_restarts_its_instance():
    assert plan(files=[written("node2", unchanged=["node2", "node1", None])]) == ["node2"]


@pytest.mark.parametrize("over", [{"files": [written(None, unchanged=["node1"])]}, {"files": [written(), written(None)]},
                                  {"mode": "all"}])
def test_a_shared_file_or_mode_all_restart_every_instance(over):
    assert plan(**over) == ["node1", "node2", "node3"]


def test_skipped_or_failed_file_writes_change_nothing():
    assert plan(files=[{"skipped": True, "changed": False}, {"failed": True, "msg": "refused"}]) == []


def test_instances_started_by_this_run_are_left_alone():
    assert plan(mode="all", started=loop("node2")) == ["node1", "node3"]
    assert plan(files=[written("node2")], started=loop("node2"), members=[member("node2", "1.8.6")]) == []


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


# --- Issue 13: members of several datacenters, restarts datacenter by datacenter ---------------

def test_members_of_a_leader_wait_per_datacenter_are_read_together():
    waited = {"changed": False, "results": [{"members": [member("node1", "1.8.6")], "item": {"datacenter": "dc1"}},
                                            {"members": [member("node3", "1.8.6")], "item": {"datacenter": "dc2"}}]}
    assert [i["name"] for i in consul_restart_plan(LOCAL, "changed", "1.8.7", waited, started=loop(),
                                                   files=[written()])] == ["node1", "node3"]


def test_a_skipped_leader_wait_gives_no_members():
    assert consul_restart_plan(LOCAL, "changed", "1.8.7", {"skipped": True, "changed": False}, started=loop(),
                               files=[written()]) == []


def federation():
    def server(name, dc, host, port):
        return {"name": name, "host": host, "datacenter": dc, "address": "10.0.0.%d" % (1 if dc == "dc1" else 2),
                "ports": {"http": port}}
    servers = [server("a1", "dc1", "h1", 8500), server("b1", "dc2", "h2", 8500), server("a2", "dc1", "h3", 8510),
               server("b2", "dc2", "h2", 8510), server("b3", "dc2", "h2", 8520), server("a3", "dc1", "h4", 8520)]
    return {"servers": servers, "datacenters": ["dc1", "dc2"], "primary": "", "several": True}


def test_restarts_go_datacenter_by_datacenter_in_the_federations_order():
    fed = federation()
    pending = [next(s for s in fed["servers"] if s["name"] == n) for n in ("b3", "a3", "b2", "a2")]
    got = consul_restart_batches(pending, fed, "https")
    assert [(b["datacenter"], [i["name"] for i in b["instances"]]) for b in got] == [
        ("dc1", ["a3", "a2"]), ("dc2", ["b3", "b2"])]
    assert got[0]["voters"] == ["a1", "a2", "a3"] and got[1]["voters"] == ["b1", "b2", "b3"]
    assert got[1]["urls"] == ["https://10.0.0.2:8500", "https://10.0.0.2:8510", "https://10.0.0.2:8520"]
    assert got[0]["snapshot_from"]["name"] == "a3" and got[1]["snapshot_from"]["name"] == "b3"


def test_a_datacenter_with_nothing_to_restart_has_no_batch():
    fed = federation()
    got = consul_restart_batches([fed["servers"][1]], fed)
    assert [b["datacenter"] for b in got] == ["dc2"] and got[0]["urls"][0].startswith("http://")
    assert consul_restart_batches([], fed) == []


def test_one_datacenter_is_one_batch_of_every_server():
    fed = federation()
    one = {"servers": [dict(s, datacenter="dc1") for s in fed["servers"]], "datacenters": ["dc1"], "primary": "",
           "several": False}
    got = consul_restart_batches(one["servers"], one)
    assert len(got) == 1 and len(got[0]["voters"]) == 6


def test_a_pending_instance_outside_the_federation_is_named():
    with pytest.raises(AnsibleFilterError, match="^consul_restart_batches: zz is not a server instance of the federation$"):
        consul_restart_batches([{"name": "zz"}], federation())
