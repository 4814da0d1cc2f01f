"""Run the consul role with ansible-playbook against a shipped inventory whose hosts cannot be
reached, and read its refusals: each case must fail on the controller, one line per host, before
the role contacts any host (the connection would time out at once anyway, so a run that went
further could change nothing)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = Path(sys.executable).parent / "ansible-playbook"
NOWHERE = {"ansible_connection": "ssh", "ansible_ssh_timeout": 1}


def clean_env(collections):
    """The test's environment without any ANSIBLE_* setting of the caller's, on ``collections``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_HOST_KEY_CHECKING="0")
    return env


def run_consul_role(collections, hosts, extra=None, inventory_extra=None, *, inventory):
    """The consul role on ``hosts`` of inventories/<inventory>; returns (return code, output)."""
    play = collections.parent / "play.yml"
    play.write_text(json.dumps([{"name": "consul", "hosts": hosts, "gather_facts": False,
                                 "roles": [{"role": "sdstack.consul.consul"}]}]))
    cmd = [str(PLAYBOOK_BIN), "-i", str(ROOT / "inventories" / inventory)]
    if inventory_extra:
        inv = collections.parent / "extra.json"
        inv.write_text(json.dumps(inventory_extra))
        cmd += ["-i", str(inv)]
    cmd += [str(play), "-e", json.dumps(dict(NOWHERE, **(extra or {})))]
    done = subprocess.run(cmd, cwd=collections.parent, env=clean_env(collections), capture_output=True, text=True,
                          timeout=120, check=False)
    return done.returncode, done.stdout + done.stderr


def failures(out):
    """host -> msg of each fatal line."""
    got = {}
    for line in out.splitlines():
        if line.startswith("fatal: ["):
            got[line[len("fatal: ["):line.index("]")]] = json.loads(line.split("=> ", 1)[1])["msg"]
    return got


def check_refused(rc, out, expected):
    """The run failed with exactly ``expected`` (host -> end of its one-line msg), no host contacted."""
    assert rc != 0 and "Traceback" not in out, out[-3000:]
    got = failures(out)
    assert set(got) == set(expected), out[-3000:]
    for host, message in expected.items():
        assert "\n" not in got[host] and got[host].endswith(message), (host, got[host])
    assert "unreachable=1" not in out, "a host was contacted: " + out[-3000:]
