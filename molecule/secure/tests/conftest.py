"""The secure scenario's shared facts: addresses, the controller's secrets, authenticated clients."""

import os
import re
from datetime import datetime
from pathlib import Path

import consul
import pytest
import requests
import testinfra

from sdstack_molecule import playbook_run

HOST = "secure1"
ADDR = "10.89.20.71"
PORTS = {"node1": 8500, "node2": 8510, "node3": 8520}
# The application host: a Consul client agent (node name = short host name) with both exporters.
CLIENT = "secure-app1"
CLIENT_ADDR = "10.89.20.72"
# Serf LAN members: the three server instances and the client agent.
MEMBERS = len(PORTS) + 1
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
CA = str(SECRETS / "tls" / "ca.pem")
HERE = Path(__file__).resolve().parent


def token(name):
    return (SECRETS / "acl" / ("%s.token" % name)).read_text().strip()


def api(port=8500, addr=ADDR):
    return "https://%s:%d" % (addr, port)


def get(path, tok=None, port=8500, addr=ADDR, **kw):
    """GET on a server instance's HTTPS API (``port``), or on another agent's (``addr``)."""
    headers = {"X-Consul-Token": tok} if tok else {}
    return requests.get(api(port, addr) + path, headers=headers, verify=CA, timeout=10, **kw)


def client(tok, port=8500, addr=ADDR):
    return consul.Consul(host=addr, port=port, scheme="https", verify=CA, token=tok)


def token_created(policy):
    """Epoch seconds of the CreateTime of the token whose only policy is ``policy``."""
    tokens = get("/v1/acl/tokens", token("bootstrap")).json()
    accessor = [t for t in tokens if [p["Name"] for p in t.get("Policies") or []] == [policy]][0]["AccessorID"]
    created = get("/v1/acl/token/" + accessor, token("bootstrap")).json()["CreateTime"]
    return datetime.fromisoformat(re.sub(r"(\.\d{1,6})\d*", r"\1", created).replace("Z", "+00:00")).timestamp()


def journal_since(host, unit, since):
    """(epoch, text) of the unit's journal lines at or after ``since``. The unit's whole journal
    is read and filtered here: a wrong unit name or an empty journal fails (the agent's start line
    is always there) instead of reading as "nothing went wrong"."""
    lines = [line.split(" ", 1) for line in
             host.check_output("journalctl -u %s --no-pager -o short-unix" % unit).splitlines()
             if line[:1].isdigit()]
    assert any("Consul agent running!" in text for _t, text in lines), (unit, lines[:5])
    return [(float(t), text) for t, text in lines if float(t) >= since]


def acl_sync_failures(host, unit, since):
    """The unit's journal lines since ``since`` that say its agent token was refused: a failed
    anti-entropy sync, or (Consul 1.8's words) "Node info update blocked by ACLs" and
    "Coordinate update blocked by ACLs"."""
    # "No known Consul servers": a client that started before it joined, not a refused token.
    return [text for _t, text in journal_since(host, unit, since)
            if ("failed to sync" in text and "No known Consul servers" not in text) or "blocked by ACLs" in text]


@pytest.fixture(scope="session")
def box():
    return testinfra.get_host("podman://" + HOST)


@pytest.fixture(scope="session")
def app_box():
    """The client agent's host."""
    return testinfra.get_host("podman://" + CLIENT)


def _agent_args(args):
    args.setdefault("url", "https://127.0.0.1:8500")
    args.setdefault("ca_path", "/etc/consul.d/tls/ca.pem")
    return args


def run_module(module, **args):
    """Run sdstack.consul.<module> on the host against its own HTTPS agent; raises if it fails."""
    return playbook_run.run_module(HOST, "sdstack.consul." + module, _agent_args(args))


def module_failure(module, **args):
    """The same run, expected to fail: its result."""
    return playbook_run.module_failure(HOST, "sdstack.consul." + module, _agent_args(args))
