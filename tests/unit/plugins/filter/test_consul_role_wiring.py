"""The consul role's own expressions, templated by Ansible, hand the models what they expect.

The role's defaults, vars/main.yml and the tasks' expressions are read from the files and
templated as a play would, so a renamed variable or a settings key the model does not know
fails here rather than in the lab.
"""

import json
import os
import sys

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "consul_golden")


@pytest.fixture(scope="module", autouse=True)
def collection_loader():
    """Let Ansible resolve sdstack.consul.* plugins from this checkout.

    Other tests import the collection as a plain package; Ansible's loader needs its own
    module objects, so theirs are set aside meanwhile and put back afterwards.
    """
    saved = {k: sys.modules.pop(k) for k in list(sys.modules)
             if k == "ansible_collections" or k.startswith("ansible_collections.")}
    finder = _AnsibleCollectionFinder(paths=[os.path.abspath(os.path.join(ROOT, ".lab", "collections"))])
    finder._install()  # pylint: disable=protected-access
    yield
    finder._remove()  # pylint: disable=protected-access
    for k in [k for k in sys.modules if k == "ansible_collections" or k.startswith("ansible_collections.")]:
        del sys.modules[k]
    sys.modules.update(saved)


def _yaml(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return yaml.safe_load(f)


def _trust(value):
    """Role files are trusted templates, as Ansible treats them."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trust(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trust(v) for v in value]
    return value


def _task(tasks_file, name):
    def walk(tasks):
        for task in tasks:
            if task.get("name") == name:
                return task
            found = walk(task.get("block") or [])
            if found:
                return found
        return None
    return walk(_yaml("roles", "consul", "tasks", tasks_file))


def templar(address, secrets_dir="", **over):
    variables = dict(_yaml("roles", "consul", "defaults", "main.yml"))
    variables.update(_trust(_yaml("roles", "consul", "vars", "main.yml")))
    instances = _yaml("inventories", "seed", "group_vars", "consul_servers.yml")["consul_instances"]
    variables.update(hostvars={"seed": {"consul_advertise_address": address, "consul_instances": instances}},
                     groups={"consul_servers": ["seed"]}, inventory_hostname="seed", consul_version="1.8.7",
                     consul_secrets_dir=secrets_dir, **over)
    return Templar(loader=DataLoader(), variables=variables)


def _render(templar_, expr, **extra):
    templar_.available_variables = dict(templar_.available_variables, **extra)
    return templar_.template(trust_as_template(expr))


def _golden(scenario, node, name):
    with open(os.path.join(GOLDEN, scenario, node, name), encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("scenario,address,over", [
    ("seed", "10.89.20.31", {}),
    ("secure", "10.89.20.71", dict(consul_tls=True, consul_acl=True, consul_gossip_encryption=True)),
])
def test_the_roles_expressions_write_the_lab_files(tmp_path, scenario, address, over):
    (tmp_path / "acl").mkdir()
    (tmp_path / "tls" / "certs").mkdir(parents=True)
    (tmp_path / "gossip.key").write_text("GOSSIP-KEY-PLACEHOLDER\n")
    (tmp_path / "acl" / "agent.token").write_text("AGENT-TOKEN-PLACEHOLDER\n")
    for name in ("ca.pem", "certs/seed.pem", "certs/seed-key.pem"):
        (tmp_path / "tls" / name).write_text("PEM OF %s\n" % name)
    t = templar(address, str(tmp_path), **over)
    # The template lookup finds the unit in the role's templates folder, as in a play.
    t.available_variables = dict(t.available_variables, ansible_search_path=[os.path.join(ROOT, "roles", "consul")])
    files_task = _task("configure.yml", "Write the validated configurations, the systemd template unit and each drop-in")
    secrets_task = _task("configure.yml", "Write each instance's secrets and this host's TLS files")
    written = {f["path"]: f for f in _render(t, files_task["sdstack.consul.files"]["files"])}
    secret_vars = {k: _render(t, v) for k, v in secrets_task["vars"].items()}
    secret = {f["path"]: f for f in _render(t, secrets_task["sdstack.consul.files"]["files"], **secret_vars)}
    names = [i["name"] for i in _render(t, "{{ _consul_local }}")]
    for name in names:
        assert written["/etc/consul.d/%s/consul.json" % name]["content"] == _golden(scenario, name, "consul.json")
        assert secret["/etc/consul.d/%s/secrets.json" % name]["content"] == _golden(scenario, name, "secrets.json")
        assert written["/etc/systemd/system/consul@%s.service.d/10-instance.conf" % name]["content"].endswith(
            "ReadWritePaths=/opt/consul/%s\n" % name)
    unit = written["/etc/systemd/system/consul@.service"]["content"]
    assert unit.startswith("# Ansible managed\n") and "ExecStart=/usr/local/bin/consul agent -config-file=" in unit
    tls = {p: f["content"] for p, f in secret.items() if "/tls/" in p}
    if over.get("consul_tls"):
        assert tls == {"/etc/consul.d/tls/ca.pem": "PEM OF ca.pem\n", "/etc/consul.d/tls/server.pem": "PEM OF certs/seed.pem\n",
                       "/etc/consul.d/tls/server-key.pem": "PEM OF certs/seed-key.pem\n"}
    else:
        assert tls == {}
    assert len(written) == 2 * len(names) + 1 and len(secret) == len(names) + len(tls)


def files_result(*changed_labels):
    """A registered sdstack.consul.files result in which the files labelled so changed."""
    return {"changed": bool(changed_labels), "files": [{"path": "/x/%d" % i, "label": l, "changed": True}
                                                       for i, l in enumerate(changed_labels)]}


def test_the_restart_task_hands_the_plan_its_registered_results():
    t = templar("10.89.20.31")
    local = _render(t, "{{ _consul_local }}")

    def loop(*changed):
        started = ["consul@%s.service" % i["name"] for i in local if i["name"] in changed]
        return {"changed": bool(changed), "started": started}

    task = _task("service.yml", "Work out which running instances need a restart")
    got = _render(t, task["ansible.builtin.set_fact"]["_consul_restart_items"],
                  _consul_started=loop("node1"), _consul_files=files_result("node1", "node3"),
                  _consul_secret_files=files_result(),
                  _consul_state={"members": [{"name": "node2", "version": "1.8.6"}]})
    assert [i["name"] for i in got] == ["node2", "node3"]
    got = _render(t, task["ansible.builtin.set_fact"]["_consul_restart_items"],
                  _consul_started=loop(), _consul_files=files_result(), _consul_secret_files=files_result(None),
                  _consul_state={"members": []})
    assert [i["name"] for i in got] == ["node1", "node2", "node3"]


def test_systemd_reloads_when_the_written_files_changed_a_unit():
    t = templar("10.89.20.31")
    when = _task("service.yml", "Enable and start each instance")["sdstack.consul.systemd_units"]["daemon_reload"]
    changed = {"changed": True, "files": [{"path": "/etc/systemd/system/consul@.service", "changed": True}]}
    assert _render(t, when, _consul_files=changed) is True
    assert _render(t, when, _consul_files=dict(changed, files=[dict(changed["files"][0], changed=False)])) is False


@pytest.mark.parametrize("over,expected", [
    ({}, [False, "http", ""]),
    (dict(consul_tls=True), [True, "https", "/etc/consul.d/tls/ca.pem"]),
    (dict(consul_gossip_encryption=True), [True, "http", ""]),
])
def test_the_roles_security_view(over, expected):
    t = templar("10.89.20.31", **over)
    assert _render(t, "{{ [_consul_secure, _consul_scheme, _consul_ca_path] }}") == expected


def _fleet(host, **over):
    """inventories/cluster's shape: three servers, app1 and app2 as client agents."""
    hosts = ["consul1", "consul2", "consul3", "app1", "app2"]
    hv = {h: {"ansible_host": "10.0.0.%d" % i} for i, h in enumerate(hosts, 11)}
    groups = over.pop("groups", {"consul_servers": hosts[:3], "consul_clients": hosts[3:]})
    t = templar("10.0.0.99", **over)
    t.available_variables = dict(t.available_variables, hostvars=hv, groups=groups, inventory_hostname=host)
    return t


def test_a_client_host_gets_one_client_instance_that_joins_the_servers():
    t = _fleet("app2")
    assert _render(t, "{{ _consul_mode }}") == "client"
    local = _render(t, "{{ _consul_local }}")
    assert [(i["name"], i["address"], i.get("client")) for i in local] == [("app2", "10.0.0.15", True)]
    conf = _render(t, "{{ _consul_local | map('sdstack.consul.consul_agent_config', _consul_cluster, consul_version,"
                      " _consul_settings, _consul_wan) | first }}")
    assert conf["server"] is False and "bootstrap_expect" not in conf
    assert conf["retry_join"] == ["10.0.0.11:8301", "10.0.0.12:8301", "10.0.0.13:8301"]
    assert _render(t, "{{ _consul_cert_dns_name }}") == "client.dc1.consul"


def test_a_server_host_still_gets_its_server_instance():
    t = _fleet("consul2")
    assert _render(t, "{{ _consul_mode }}") == "server"
    assert [i["name"] for i in _render(t, "{{ _consul_local }}")] == ["consul2"]
    assert _render(t, "{{ _consul_cert_dns_name }}") == "server.dc1.consul"


def test_the_client_restart_plan_reads_the_joined_members():
    t = _fleet("app1")
    local = _render(t, "{{ _consul_local }}")
    task = _task("service.yml", "Work out whether the client agent needs a restart")
    got = _render(t, task["ansible.builtin.set_fact"]["_consul_client_restart_items"],
                  _consul_started={"results": []}, _consul_files=files_result(), _consul_secret_files=files_result(),
                  _consul_join={"members": [{"name": "app1", "version": "1.8.6"}]})
    assert [i["name"] for i in got] == [local[0]["name"]]


def test_a_host_in_both_groups_stops_the_role():
    t = _fleet("consul1", groups={"consul_servers": ["consul1", "consul2", "consul3"],
                                  "consul_clients": ["app1", "consul1"]})
    with pytest.raises(Exception, match="consul1 is in both consul_servers"):
        _render(t, "{{ _consul_mode }}")


def test_a_client_reads_its_own_agent_token_and_the_servers_the_shared_one():
    assert _render(_fleet("app1", consul_acl=True), "{{ _consul_agent_token_name }}") == "agent-app1"
    assert _render(_fleet("consul1", consul_acl=True), "{{ _consul_agent_token_name }}") == "agent"
    names = [t["name"] for t in _render(_fleet("consul1", consul_acl=True), "{{ _consul_acl_tokens }}")]
    assert names[:3] == ["agent", "agent-app1", "agent-app2"]


def test_a_client_creates_only_its_own_token():
    task = _task("service.yml", "Create this client agent's ACL token")
    got = _render(_fleet("app2", consul_acl=True), task["vars"]["_consul_client_token"])
    assert got["name"] == "agent-app2" and 'node "app2"' in got["rules"]


def _federation(host, tmp_path):
    """Two datacenters with ACLs: a1..a3 in dc1 (the primary), b1 in dc2; secrets on tmp_path."""
    dcs = {"a1": "dc1", "a2": "dc1", "a3": "dc1", "b1": "dc2"}
    hv = {h: {"ansible_host": "10.0.0.%d" % i, "consul_datacenter": dc} for i, (h, dc) in enumerate(dcs.items(), 11)}
    (tmp_path / "acl").mkdir(exist_ok=True)
    for name in ("agent", "acl-replication"):
        (tmp_path / "acl" / ("%s.token" % name)).write_text(name.upper() + "-SECRET\n")
    t = templar("10.0.0.99", str(tmp_path), consul_acl=True, consul_primary_datacenter="dc1",
                consul_datacenter=dcs[host])
    t.available_variables = dict(t.available_variables, hostvars=hv, groups={"consul_servers": list(dcs)},
                                 inventory_hostname=host)
    return t


@pytest.mark.parametrize("host,replication", [("b1", "ACL-REPLICATION-SECRET"), ("a2", None)])
def test_servers_outside_the_primary_carry_the_replication_token(tmp_path, host, replication):
    t = _federation(host, tmp_path)
    assert [tok["name"] for tok in _render(t, "{{ _consul_acl_tokens }}")][:2] == ["agent", "acl-replication"]
    task = _task("configure.yml", "Write each instance's secrets and this host's TLS files")
    secret_vars = {k: _render(t, v) for k, v in task["vars"].items()}
    (secrets,) = _render(t, task["sdstack.consul.files"]["files"], **secret_vars)
    got = json.loads(secrets["content"])
    assert got["acl"]["tokens"].get("replication") == replication
    assert got["acl"]["tokens"]["agent"] == "AGENT-SECRET"
    conf = _render(t, "{{ _consul_local | map('sdstack.consul.consul_agent_config', _consul_cluster, consul_version,"
                      " _consul_settings, _consul_wan) | first }}")
    assert conf["acl"].get("enable_token_replication", False) is (replication is not None)
