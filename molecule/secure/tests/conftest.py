"""The secure scenario's shared facts: addresses, the controller's secrets, authenticated clients."""

import os
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
