"""The secure scenario's shared facts: addresses, the controller's secrets, authenticated clients."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import consul
import pytest
import requests
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared" / "tests"))

HOST = "secure1"
ADDR = "10.89.20.71"
PORTS = {"node1": 8500, "node2": 8510, "node3": 8520}
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
CA = str(SECRETS / "tls" / "ca.pem")
HERE = Path(__file__).resolve().parent


def token(name):
    return (SECRETS / "acl" / ("%s.token" % name)).read_text().strip()


def api(port=8500):
    return "https://%s:%d" % (ADDR, port)


def get(path, tok=None, port=8500, **kw):
    headers = {"X-Consul-Token": tok} if tok else {}
    return requests.get(api(port) + path, headers=headers, verify=CA, timeout=10, **kw)


def client(tok, port=8500):
    return consul.Consul(host=ADDR, port=port, scheme="https", verify=CA, token=tok)


@pytest.fixture(scope="session")
def box():
    return testinfra.get_host("podman://" + HOST)


def run_module(module, **args):
    """Run sdstack.consul.<module> on the host against its own HTTPS agent, the way a playbook
    task would; returns the module's result with its ``failed`` flag."""
    args.setdefault("url", "https://127.0.0.1:8500")
    args.setdefault("ca_path", "/etc/consul.d/tls/ca.pem")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal", ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(HERE.parents[2] / ".lab" / "collections"))
    env.pop("ANSIBLE_FORCE_COLOR", None)
    run = subprocess.run(["ansible", HOST, "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-m", "sdstack.consul." + module,
                          "-a", json.dumps(args)], env=env, capture_output=True, text=True, timeout=120, check=False)
    # "secure1 | FAILED! => {...}" or "secure1 | SUCCESS => {...}" / "CHANGED".
    m = re.search(r"^%s \| (\w+)!? => (\{.*)" % HOST, run.stdout, re.S | re.M)
    assert m, run.stdout + run.stderr
    result = json.loads(m.group(2))
    result["failed"] = m.group(1) == "FAILED"
    return result
