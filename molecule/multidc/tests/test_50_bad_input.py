"""The multi-datacenter refusals (docs/multi-datacenter.md) against the running federation: each
run of the scenario's playbook fails with the documented one-line message naming the value, on
every host that reports it, and the live configurations, binaries, units and running servers of
both datacenters are exactly as before."""

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ADDRESS
from sdstack_molecule.host_state import CONSUL_BINARY, file_identity
from sdstack_molecule.playbook_run import run_playbook
from sdstack_molecule.refusals import assert_refused

HERE = Path(__file__).resolve().parent
HOSTS = ["mdc1-1", "mdc1-2", "mdc1-3", "mdc2-seed"]
FILES = ("/etc/consul.d/*/*.json /etc/systemd/system/consul@.service"
         " $(find /etc/nginx /etc/prometheus -type f 2>/dev/null)")
DISAGREE = ("on mdc1-1 (dc1), {name} {dc2!r} on mdc2-seed (dc2): WAN gossip needs the same gossip key and TLS the"
            " same CA in every datacenter, and both come from consul_secrets_dir")


def snapshot():
    """Digest of every live config, the binary's identity, and each unit's PID and start, per host."""
    out = {}
    for h in HOSTS:
        out[h] = subprocess.run(
            ["podman", "exec", h, "sh", "-c",
             file_identity(CONSUL_BINARY) + " sha256sum %s 2>/dev/null; systemctl show -p MainPID"
             " -p ActiveEnterTimestamp 'consul@*' nginx prometheus node_exporter 2>/dev/null" % FILES],
            check=True, capture_output=True, text=True, timeout=60).stdout
    return out


@pytest.fixture
def unchanged():
    before = snapshot()
    assert all("consul.json" in v for v in before.values()), before  # the digest covers something
    yield
    assert snapshot() == before, "a refused run changed a host of the federation"


DC_HOSTS = {"dc1": ["mdc1-1", "mdc1-2", "mdc1-3"], "dc2": ["mdc2-seed"]}


def _extra_inventory(tmp_path, per_datacenter):
    """A second -i file giving every host of a datacenter the same vars, as host vars: an inventory
    file's group vars would rank below the scenario's group_vars/all, which sets the secure profile."""
    hosts = {h: dict(v) for dc, v in per_datacenter.items() for h in DC_HOSTS[dc]}
    path = tmp_path / "extra.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    return ["-i", str(path)]


CASES = [
    dict(id="primary-without-servers", extra={"consul_primary_datacenter": "dc3"},
         message="consul_primary_datacenter: 'dc3' has no servers (datacenters with servers: dc1, dc2)"),
    dict(id="acl-without-primary",
         extra={"consul_primary_datacenter": "", "consul_acl": True, "consul_secrets_dir": "/nonexistent/secrets"},
         message=("consul_primary_datacenter: required with ACLs across several datacenters (dc1, dc2): name the one"
                  " that holds the authoritative ACLs")),
    dict(id="secrets-dir-differs", groups={"dc1": {"consul_secrets_dir": "/srv/consul/fed"},
                                           "dc2": {"consul_secrets_dir": "/srv/consul/dc2"}},
         message="datacenters disagree on consul_secrets_dir: consul_secrets_dir '/srv/consul/fed' "
                 + DISAGREE.format(name="consul_secrets_dir", dc2="/srv/consul/dc2")),
    dict(id="gossip-key-differs", groups={"dc1": {"consul_gossip_encryption": True},
                                          "dc2": {"consul_gossip_encryption": False}},
         message="datacenters disagree on consul_gossip_encryption: consul_gossip_encryption True "
                 + DISAGREE.format(name="consul_gossip_encryption", dc2=False)),
    dict(id="one-name-two-server-sets",
         groups={"dc2": {"consul_extra_config": {"retry_join": [ADDRESS["mdc1-1"] + ":8301"]}}},
         message=("retry_join of node1 (datacenter dc2) names 10.89.20.81:8301, server mdc1-1 of datacenter dc1: a"
                  " datacenter's servers join only each other over LAN (the other datacenters are joined over WAN)")),
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_refused_before_anything_changes(unchanged, tmp_path, case):
    args = _extra_inventory(tmp_path, case["groups"]) if "groups" in case else []
    rc, out = run_playbook(HERE.parent / "converge.yml", case.get("extra"), *args)
    assert_refused(rc, out, HOSTS, case["message"])


def test_lb_datacenter_without_servers_refused_on_the_nginx_host(unchanged):
    # The refusal is the consul_lb role's own check: --tags consul_lb runs that role (and the
    # port check every run starts with) without first re-running every other role of the
    # federation unchanged.
    rc, out = run_playbook(HERE.parent / "converge.yml", {"consul_lb_datacenter": "dc3"}, "--tags", "consul_lb")
    assert_refused(rc, out, ["mdc1-3"],
                   "consul_lb_datacenter: 'dc3' has no servers in 'consul_servers' (datacenters: dc1, dc2)")
