"""consul_files, consul_secret_files: every file of a host's Consul agents in one list for the files
module, each labelled with the instance that reads it (none: every instance reads it)."""

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.consul_files import (consul_files, consul_instance_units,
                                                                            consul_json, consul_secret_files,
                                                                            consul_units_changed)

LOCAL = [{"name": "node1", "data_dir": "/opt/consul/node1"}, {"name": "node2", "data_dir": "/opt/consul/node2"}]
BINARY = "/usr/local/bin/consul"


def test_each_instance_gets_its_validated_config_then_the_unit_then_its_drop_in():
    got = consul_files(LOCAL, [{"node_name": "node1"}, {"node_name": "node2"}], "[Unit]\n", "/etc/consul.d", "consul",
                       BINARY)
    assert [(f["path"], f.get("label"), f["owner"], f["group"], f["mode"]) for f in got] == [
        ("/etc/consul.d/node1/consul.json", "node1", "root", "consul", "0640"),
        ("/etc/consul.d/node2/consul.json", "node2", "root", "consul", "0640"),
        ("/etc/systemd/system/consul@.service", None, "root", "root", "0644"),
        ("/etc/systemd/system/consul@node1.service.d/10-instance.conf", "node1", "root", "root", "0644"),
        ("/etc/systemd/system/consul@node2.service.d/10-instance.conf", "node2", "root", "root", "0644"),
    ]
    assert [f.get("validate") for f in got] == ["%s validate -config-format=json %%s" % BINARY] * 2 + [None] * 3
    assert json.loads(got[1]["content"]) == {"node_name": "node2"} and got[2]["content"] == "[Unit]\n"
    # The drop-in opens the instance's own data folder, and nothing else, to it.
    assert got[4]["content"] == "# Ansible managed\n[Service]\nReadWritePaths=/opt/consul/node2\n"


def test_the_json_layout_is_to_nice_json_with_two_spaces_and_a_newline():
    # Files written by the role before read unchanged, so an upgrade of the collection restarts nothing.
    assert consul_json({"b": [1, {"d": True}], "a": "é"}) == (
        '{\n  "a": "\\u00e9",\n  "b": [\n    1,\n    {\n      "d": true\n    }\n  ]\n}\n')


def test_configs_not_one_per_instance_are_refused():
    with pytest.raises(AnsibleFilterError, match=r"^consul_files: configs must hold one entry per instance \(2\)"):
        consul_files(LOCAL, [{}], "", "/etc/consul.d", "consul", BINARY)


def test_secrets_are_checked_with_their_instances_live_config_and_tls_files_have_no_label():
    tls = [{"name": "ca.pem", "content": "CA\n", "mode": "0644"},
           {"name": "server-key.pem", "content": "K\n", "mode": "0640"}]
    got = consul_secret_files(LOCAL, {"encrypt": "k"}, tls, "/etc/consul.d", "consul", BINARY)
    assert [(f["path"], f.get("label"), f["group"], f["mode"]) for f in got] == [
        ("/etc/consul.d/node1/secrets.json", "node1", "consul", "0640"),
        ("/etc/consul.d/node2/secrets.json", "node2", "consul", "0640"),
        ("/etc/consul.d/tls/ca.pem", None, "consul", "0644"),
        ("/etc/consul.d/tls/server-key.pem", None, "consul", "0640"),
    ]
    assert got[1]["validate"] == "%s validate -config-format=json /etc/consul.d/node2/consul.json %%s" % BINARY
    assert json.loads(got[0]["content"]) == {"encrypt": "k"} and got[3]["content"] == "K\n"
    assert consul_secret_files(LOCAL, {}, [], "/etc/consul.d", "consul", BINARY)[0]["content"] == "{}\n"


@pytest.mark.parametrize("files,expected", [
    ([{"path": "/etc/consul.d/node1/consul.json", "changed": True}], False),
    ([{"path": "/etc/systemd/system/consul@.service", "changed": False}], False),
    ([{"path": "/etc/systemd/system/consul@node1.service.d/10-instance.conf", "changed": True}], True),
    ([{"path": "/etc/systemd/system/consul@.service", "changed": True}], True),
])
def test_systemd_reloads_only_when_a_unit_or_drop_in_changed(files, expected):
    assert consul_units_changed({"changed": True, "files": files}) is expected


def test_a_skipped_write_reloads_nothing():
    assert consul_units_changed({"skipped": True}) is False and consul_units_changed(None) is False


def test_each_instance_is_enabled_and_started_as_its_own_unit_of_the_template():
    assert consul_instance_units(LOCAL) == [
        {"name": "consul@node1.service", "state": "started", "enabled": True},
        {"name": "consul@node2.service", "state": "started", "enabled": True}]
    # The drop-in each instance's unit reads belongs to that same unit.
    drop_ins = [f["path"] for f in consul_files(LOCAL, [{}, {}], "[Unit]\n", "/etc/consul.d", "consul", "consul")
                if f["path"].endswith("10-instance.conf")]
    assert drop_ins == ["/etc/systemd/system/%s.d/10-instance.conf" % u["name"] for u in consul_instance_units(LOCAL)]
