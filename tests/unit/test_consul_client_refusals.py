"""The consul role's client-agent refusals, run by ansible-playbook on the shipped cluster inventory.

Each case fails in a task that only templates on the controller (set_fact, assert), before the
role contacts any host; the hosts' connection is made to time out at once anyway, so a run that
went further could change nothing. The lab repeats them against a running cluster
(molecule/cluster/tests/test_clients_bad_input.py).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = Path(sys.executable).parent / "ansible-playbook"
NOWHERE = {"ansible_connection": "ssh", "ansible_ssh_timeout": 1}


def run(collections, hosts, extra=None, inventory_extra=None):
    play = collections.parent / "play.yml"
    play.write_text(json.dumps([{"name": "consul", "hosts": hosts, "gather_facts": False,
                                 "roles": [{"role": "sdstack.consul.consul"}]}]))
    cmd = [str(PLAYBOOK_BIN), "-i", str(ROOT / "inventories" / "cluster")]
    if inventory_extra:
        inv = collections.parent / "extra.json"
        inv.write_text(json.dumps(inventory_extra))
        cmd += ["-i", str(inv)]
    cmd += [str(play), "-e", json.dumps(dict(NOWHERE, **(extra or {})))]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_HOST_KEY_CHECKING="0")
    done = subprocess.run(cmd, cwd=collections.parent, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    return done.returncode, done.stdout + done.stderr


def failures(out):
    """host -> msg of each fatal line."""
    got = {}
    for line in out.splitlines():
        if line.startswith("fatal: ["):
            got[line[len("fatal: ["):line.index("]")]] = json.loads(line.split("=> ", 1)[1])["msg"]
    return got


def _check(rc, out, expected):
    assert rc != 0 and "Traceback" not in out, out[-3000:]
    got = failures(out)
    assert set(got) == set(expected), out[-3000:]
    for host, message in expected.items():
        assert "\n" not in got[host] and got[host].endswith(message), (host, got[host])
    assert "unreachable=1" not in out, "a host was contacted: " + out[-3000:]


def test_a_host_in_both_groups_stops_every_client(collections):
    rc, out = run(collections, "consul_clients", inventory_extra={"consul_clients": {"hosts": {"consul1": None}}})
    both = "a host runs a server or a client agent, not both"
    _check(rc, out, dict(
        {h: "consul1 is in both the Consul servers' and the clients' group: " + both for h in ("app1", "app2", "monitor")},
        consul1="consul1 is in both consul_servers (consul_group) and consul_clients (consul_clients_group): " + both))


def test_an_unknown_servers_group_is_named(collections):
    rc, out = run(collections, "consul_servers", {"consul_group": "consul_sevrers"})
    _check(rc, out, {h: "consul_group: 'consul_sevrers' is not an inventory group (the Consul servers' group)"
                     for h in ("consul1", "consul2", "consul3")})


def test_an_unknown_clients_group_is_named(collections):
    rc, out = run(collections, "consul_clients", {"consul_clients_group": "apps"})
    _check(rc, out, {h: "consul_clients_group: 'apps' is not an inventory group (%s runs the consul role but is not in"
                        " consul_servers either)" % h for h in ("app1", "app2", "monitor")})


def test_a_client_node_name_taken_by_a_server_is_refused(collections):
    rc, out = run(collections, "consul_clients",
                  inventory_extra={"consul_clients": {"hosts": {"consul1.apps": {"ansible_host": "10.0.0.41"}}}})
    message = "node name consul1 is used twice (on consul1 and consul1.apps): node names must be unique"
    _check(rc, out, {h: message for h in ("app1", "app2", "monitor", "consul1.apps")})
