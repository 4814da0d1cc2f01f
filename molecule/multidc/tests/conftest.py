"""The multidc scenario's shared facts: hosts, addresses and servers per datacenter, and the small actions its
tests share (podman exec on a lab host, the consul CLI and modules as the operator, Prometheus's
targets, the JSON artifacts). Everything speaks HTTPS verified against the federation's CA. Constants
mirror ../molecule.yml and ../inventory; a test that disagrees with them fails naming the value."""

import json
import os
import subprocess
import time
from pathlib import Path

import requests

# Molecule deletes its ephemeral folder at destroy: the figures go beside the scenario logs instead.
REPORTS = Path(__file__).resolve().parents[3] / ".lab" / "logs"
ADDRESS = {"mdc1-1": "10.89.20.81", "mdc1-2": "10.89.20.82", "mdc1-3": "10.89.20.83", "mdc2-seed": "10.89.20.84"}
DC1_HOSTS = ["mdc1-1", "mdc1-2", "mdc1-3"]
DC2_HOST = "mdc2-seed"
# Node names as each datacenter knows them (dc2's are the instances of host_vars/mdc2-seed/instances.yml).
SERVERS = {"dc1": DC1_HOSTS, "dc2": ["node1", "node2", "node3"]}
# Each server's HTTPS API: dc1's on Consul's default port, dc2's three instances on 8500/8510/8520.
API = {"dc1": ["https://%s:8500" % ADDRESS[h] for h in DC1_HOSTS],
       "dc2": ["https://%s:%d" % (ADDRESS[DC2_HOST], p) for p in (8500, 8510, 8520)]}
DC2_UNITS = ["consul@%s.service" % n for n in SERVERS["dc2"]]
NGINX = "https://%s" % ADDRESS["mdc1-3"]
PROMETHEUS = "https://%s:9090" % ADDRESS["mdc1-3"]
JOB = {"dc1": "consul-node-exporter", "dc2": "consul-node-exporter-dc2"}
# The controller's secrets of the federation (inventory/group_vars/all/secure.yml).
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
CA = str(SECRETS / "tls" / "ca.pem")
# How a lab host reaches its own agent, for modules and the consul CLI run there.
AGENT_URL = "https://127.0.0.1:8500"
AGENT_CA = "/etc/consul.d/tls/ca.pem"


def token(name):
    """The secret of ACL token ``name`` as the role keeps it on the controller."""
    return (SECRETS / "acl" / ("%s.token" % name)).read_text().strip()


def _session(headers=None, auth=None):
    s = requests.Session()
    s.trust_env = False  # lab addresses only
    s.verify = CA
    s.headers.update(headers or {})
    s.auth = auth
    return s


# Consul's APIs as the operator (the bootstrap token); anonymous requests use ANONYMOUS.
HTTP = _session({"X-Consul-Token": token("bootstrap")})
ANONYMOUS = _session()
PROM = _session(auth=("admin", (SECRETS / "web" / "admin.password").read_text().strip()))


# What the WAN checks (sdstack_molecule.wan_checks) send: the operator's token, the federation's CA.
WAN_AUTH = {"token": token("bootstrap"), "verify": CA}


def agent_args(**args):
    """Arguments of a collection module run on a lab host against its own agent, as the operator."""
    return dict(dict(url=AGENT_URL, ca_path=AGENT_CA, token=token("bootstrap")), **args)


def consul_cli(host, *args):
    """The consul CLI on a lab host, against its own agent as the operator."""
    return podman("exec", "-e", "CONSUL_HTTP_ADDR=" + AGENT_URL, "-e", "CONSUL_CACERT=" + AGENT_CA,
                  "-e", "CONSUL_HTTP_TOKEN=" + token("bootstrap"), host, "consul", *args)


def podman(*args, check=True, timeout=60):
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True, timeout=timeout).stdout


def active_targets():
    """Prometheus's active targets: list of {job, scrapeUrl, health, labels}."""
    data = PROM.get(PROMETHEUS + "/api/v1/targets", params={"state": "active"}, timeout=5).json()
    return data["data"]["activeTargets"]


def node_exporter_url(host):
    return "https://%s:9100/metrics" % ADDRESS[host]


def leader_of(dc, timeout=1.0):
    """The leader's Raft address as any server of ``dc`` reports it locally, or "" (none answers one)."""
    for url in API[dc]:
        try:
            r = HTTP.get(url + "/v1/status/leader", timeout=timeout)
            if r.status_code == 200 and r.json():
                return r.json()
        except (requests.RequestException, ValueError):
            continue
    return ""


def write_artifact(name, data):
    """Write .lab/logs/<name> (JSON, kept after the run) and print it, for the report."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = REPORTS / name
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print("\n%s:\n%s" % (path, path.read_text()))
    return path


def hold_for(check, seconds, what, interval=1.0):
    """The opposite of polling.wait_for: check() must stay truthy for ``seconds``, sampled every
    ``interval``; fails naming what broke and its last value."""
    deadline = time.monotonic() + seconds
    samples = 0
    while time.monotonic() < deadline:
        got = check()
        assert got, "%s: broke after %d samples (got %r)" % (what, samples, got)
        samples += 1
        time.sleep(interval)
    return samples
