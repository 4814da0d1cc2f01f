"""Secrets are made once and reused - by a server that comes back empty, by a cluster rebuilt
from nothing (the client agent joins it again, its token made again with the same secret), by a
rolling restart of the servers and the client - and none of them shows in -vvv output of those
runs."""

import hashlib
import re

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import CLIENT, HERE, MEMBERS, SECRETS, client, get, token
from sdstack_molecule.playbook_run import converge, recap, run_playbook
from sdstack_molecule.polling import wait_for

REPO = HERE.parents[2]


def fingerprint():
    """Hashes of every secret and certificate file on the controller."""
    return {str(p.relative_to(SECRETS)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(SECRETS.rglob("*")) if p.is_file()}


def secret_values():
    """Every secret as text that must never be printed: the gossip key, each token, and each
    private key (its PEM body's first line and its private number in hex and decimal; the
    last line of an EC key's PEM holds its public key, which tasks may show)."""
    values = {"gossip.key": (SECRETS / "gossip.key").read_text().strip()}
    for f in (SECRETS / "acl").glob("*.token"):
        values["acl/" + f.name] = f.read_text().strip()
    # The web config's basic-auth passwords (Prometheus and node_exporter).
    for f in (SECRETS / "web").glob("*.password"):
        values["web/" + f.name] = f.read_text().strip()
    for f in (SECRETS / "tls").rglob("*-key.pem"):
        name = str(f.relative_to(SECRETS))
        values[name + " PEM"] = [l for l in f.read_text().splitlines() if l and not l.startswith("-----")][0]
        number = serialization.load_pem_private_key(f.read_bytes(), None).private_numbers().private_value
        values[name + " hex"] = "%x" % number
        values[name + " decimal"] = str(number)
    return values


def assert_nothing_leaked(out):
    assert len(out) > 10000, "not a -vvv run?"
    leaked = [name for name, value in secret_values().items() if value in out]
    assert not leaked, "secrets in -vvv output: %s" % leaked


def wait_voters(n=3, timeout=120):
    def healthy():
        try:
            health = get("/v1/operator/autopilot/health", token("bootstrap")).json()
        except ValueError:
            return None
        voters = sum(1 for s in health.get("Servers") or [] if s["Voter"] and s["Healthy"])
        return health if health.get("Healthy") and voters == n else None
    return wait_for(healthy, timeout, "a healthy cluster of %d voters" % n, interval=1)


@pytest.fixture(scope="module")
def before():
    return fingerprint()


def client_pid(app_box):
    return app_box.check_output("systemctl show -p MainPID --value consul@%s" % CLIENT)


def wait_client_back_in_the_cluster(timeout=240):
    """The client agent is an alive client member of the (new) cluster, its exporters are in the
    catalog on its node, and its coordinate is there: the agent sends it with its own token
    (node:write on its node only), so it arrives only if that token is valid in this cluster.
    A new catalog gets the services back at the client's next anti-entropy sync (about a minute)."""
    def back():
        members = {m["Name"]: (m["Status"], m["Tags"].get("role"))
                   for m in get("/v1/agent/members", token("bootstrap")).json()}
        if members.get(CLIENT) != (1, "node"):
            return None
        node = get("/v1/catalog/node/" + CLIENT, token("bootstrap")).json() or {}
        if not {"node-exporter", "cadvisor-exporter"} <= set(node.get("Services") or {}):
            return None
        coordinate = get("/v1/coordinate/node/" + CLIENT, token("bootstrap"))
        return coordinate.status_code == 200 and coordinate.json()
    return wait_for(back, timeout, "%s alive, its services and its coordinate in the cluster" % CLIENT, interval=2)


def test_a_server_back_empty_gets_the_same_key_and_certificates(box, before):
    # node3 as a host added later: nothing but its node ID survives (same Raft member).
    box.check_output("systemctl stop consul@node3 && find /opt/consul/node3 -mindepth 1 ! -name node-id -delete"
                     " && rm -rf /etc/consul.d/node3")
    out = converge(HERE.parent / "consul.yml", None, "-vvv")
    assert recap(out)["secure1"]["failed"] == 0
    wait_voters()
    assert fingerprint() == before, "a secret or certificate on the controller changed"
    ring = [r for r in get("/v1/operator/keyring", token("bootstrap")).json() if not r["WAN"]][0]
    assert ring["Keys"] == {(SECRETS / "gossip.key").read_text().strip(): MEMBERS}
    assert_nothing_leaked(out)


def test_a_cluster_rebuilt_from_nothing_is_bootstrapped_again_with_the_same_secrets(box, app_box, before):
    # The old cluster is gone, so its bootstrap token is useless: only that file goes.
    box.check_output("systemctl stop consul@node1 consul@node2 consul@node3 && rm -rf /opt/consul/node1"
                     " /opt/consul/node2 /opt/consul/node3")
    old_bootstrap = token("bootstrap")
    # With the old cluster's token still on file the role stops and says why.
    rc, out = run_playbook(HERE.parent / "consul.yml")
    assert rc != 0
    assert re.search(r"bootstrap.token is not a token of this cluster \(ACL not found\): it belongs to an earlier"
                     r" or another cluster", out), out[-3000:]
    (SECRETS / "acl" / "bootstrap.token").unlink()
    out = converge("sdstack.consul.site", None, "-vvv", timeout=900)
    assert re.search(r"TASK \[sdstack\.consul\.consul : Bootstrap the ACL system through the API\]", out)
    assert token("bootstrap") != old_bootstrap
    after = fingerprint()
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert changed == ["acl/bootstrap.token"], changed
    wait_voters()
    # The tokens made before the rebuild work again, with the same secrets.
    assert "node-exporter" in client(token("prometheus-sd")).catalog.services()[1]
    # The client agent kept running through the rebuild (nothing of it changed, so site.yml did
    # not restart it): it joined the new servers by itself (Serf reconnects to the members it
    # lost; the role's join check waited for that), and site.yml made its agent-<node> token
    # again in the new ACL system, with the secret on the controller.
    assert re.search(r"TASK \[sdstack\.consul\.consul : Wait until the client agent joined the servers\]", out)
    wait_client_back_in_the_cluster()
    me = get("/v1/acl/token/self", token("agent-" + CLIENT))
    assert me.status_code == 200 and [p["Name"] for p in me.json()["Policies"]] == ["agent-" + CLIENT], me.text
    assert_nothing_leaked(out)


def test_rolling_restart_with_a_snapshot_shows_no_secret(tmp_path, app_box):
    report = tmp_path / "restart.json"
    pid = client_pid(app_box)
    out = converge(REPO / "playbooks" / "rolling_restart.yml", {"rolling_restart_report": str(report)}, "-vvv")
    assert "Save a Raft snapshot before the first restart" in out and "Verify the snapshot" in out
    # The report lists the servers' restarts; the client agent is restarted after them.
    assert report.read_text().count('"node"') == 3
    assert client_pid(app_box) not in (pid, "0"), "the client agent was not restarted"
    wait_voters()
    wait_client_back_in_the_cluster()
    assert_nothing_leaked(out)
