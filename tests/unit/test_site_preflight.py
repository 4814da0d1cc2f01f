"""playbooks/site.yml checks every host's ports in its first play, before any role runs.

ansible-playbook runs on the shipped inventories with this checkout as the collection. The
first play only templates a filter on the controller, so no host is contacted; the hosts'
addresses are made unreachable anyway, so a play that went further could change nothing.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "playbooks" / "site.yml"
PLAYBOOK_BIN = Path(sys.executable).parent / "ansible-playbook"
# TEST-NET-1 (RFC 5737): never routed.
NOWHERE = {"ansible_host": "192.0.2.1", "ansible_connection": "ssh", "ansible_ssh_timeout": 1}


def run(collections, playbook, inventory, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_HOST_KEY_CHECKING="0")
    cmd = [str(PLAYBOOK_BIN), "-i", str(ROOT / "inventories" / inventory), str(playbook),
           "-e", json.dumps(dict(NOWHERE, **(extra or {})))]
    done = subprocess.run(cmd, cwd=collections.parent, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    return done.returncode, done.stdout + done.stderr


def failure_messages(out):
    return [json.loads(line.split("=> ", 1)[1])["msg"] for line in out.splitlines()
            if line.startswith("fatal: [")]


@pytest.fixture(name="first_play")
def fixture_first_play(tmp_path):
    """site.yml's first play alone, as written there."""
    path = tmp_path / "first_play.yml"
    path.write_text(yaml.safe_dump(yaml.safe_load(SITE.read_text())[:1]))
    return path


def test_first_play_covers_every_host_of_the_stack_and_stops_all_on_one_failure():
    plays = yaml.safe_load(SITE.read_text())
    first, roles = plays[0], plays[1:]
    assert set(first["hosts"].split(":")) == {p["hosts"] for p in roles}
    assert first["gather_facts"] is False and first["any_errors_fatal"] is True
    assert "roles" not in first and "host_ports" in json.dumps(first["tasks"])


@pytest.mark.parametrize("inventory", ["seed", "cluster"])
def test_shipped_inventories_pass(collections, first_play, inventory):
    rc, out = run(collections, first_play, inventory)
    assert rc == 0, out[-3000:]
    assert "ok: [" in out and "fatal" not in out


@pytest.mark.parametrize("extra,message", [
    ({"consul_lb_listen_port": 9090},
     "port 9090 on consul-seed is used by both nginx (consul_lb_listen_port) and prometheus"
     " (prometheus_web_listen_address)"),
    ({"node_exporter_listen_address": "0.0.0.0"},
     "node_exporter_listen_address of consul-seed: '0.0.0.0' has no port (host:port, for example 0.0.0.0:9100"
     " or :9100)"),
    ({"cadvisor_port": 8500}, "port 8500 on consul-seed is used by both consul node1 (http port) and cadvisor"
     " (cadvisor_listen_ip/cadvisor_port)"),
], ids=["nginx-on-prometheus-port", "exporter-address-without-port", "cadvisor-on-consul-port"])
def test_site_stops_before_any_role(collections, extra, message):
    rc, out = run(collections, SITE, "seed", extra)
    assert rc != 0
    msgs = failure_messages(out)
    assert len(msgs) == 1 and "\n" not in msgs[0] and msgs[0].endswith(message), out[-3000:]
    assert "Traceback" not in out
    assert "TASK [sdstack.consul." not in out, "a role ran after the port check failed"


def test_one_bad_host_stops_every_host(collections):
    # Cluster inventory: nginx on Prometheus's port clashes on the monitor host only; the three
    # Consul hosts pass the check, yet no role runs on any of them.
    rc, out = run(collections, SITE, "cluster", {"consul_lb_listen_port": 9090})
    assert rc != 0
    assert [m.split(": ")[-1] for m in failure_messages(out)] == [
        "port 9090 on monitor is used by both nginx (consul_lb_listen_port) and prometheus"
        " (prometheus_web_listen_address)"], out[-3000:]
    assert "ok: [consul1]" in out
    assert "TASK [sdstack.consul." not in out and "PLAY [Consul servers]" not in out, out[-3000:]


def test_a_client_agents_ports_are_in_the_preflight(collections):
    # app1 runs a client agent (consul_clients) and cAdvisor: the agent's HTTP port counts there.
    rc, out = run(collections, SITE, "cluster", {"cadvisor_port": 8500})
    assert rc != 0
    msgs = sorted(m.split(": ")[-1] for m in failure_messages(out))
    assert msgs == ["port 8500 on %s is used by both consul %s (http port) and cadvisor (cadvisor_listen_ip/cadvisor_port)"
                    % (h, h) for h in ("app1", "app2")], out[-3000:]
    assert "TASK [sdstack.consul." not in out, out[-3000:]
