"""Rerun a scenario's playbook from a verifier, with extra vars or flags, the way bad-input and
rerun tests need it: same inventory and collection path as Molecule's own runs, output captured,
the PLAY RECAP parsed.

A test module imports it (its scenario's conftest puts molecule/_shared/tests on sys.path):
    from playbook_run import run_playbook, recap
"""

import json
import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def run_playbook(playbook, extra=None, *args, timeout=600):
    """Run ``ansible-playbook`` on the scenario's inventory; returns (return code, stdout + stderr).

    ``extra`` is sent as one JSON ``-e`` (typed values); ``args`` are passed as they are."""
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook)]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    cmd += list(args)
    run = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False)
    return run.returncode, run.stdout + run.stderr


def run_module(host, module, args, timeout=120):
    """Run one module on one host of the scenario's inventory, as a playbook task would; returns
    its result with a ``failed`` flag (ad hoc, far quicker than a playbook per call)."""
    env = dict(_env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal")
    run = subprocess.run(["ansible", host, "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-m", module,
                          "-a", json.dumps(args)], env=env, capture_output=True, text=True, timeout=timeout, check=False)
    # "host | FAILED! => {...}", "host | SUCCESS => {...}" or "host | CHANGED => {...}".
    m = re.search(r"^%s \| (\w+)!? => (\{.*)" % re.escape(host), run.stdout, re.S | re.M)
    assert m, run.stdout + run.stderr
    result = json.loads(m.group(2))
    result["failed"] = m.group(1) == "FAILED"
    return result


def _env():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".lab" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0")
    # Molecule forces colour for its own runs; escape codes would break matching the output.
    env.pop("ANSIBLE_FORCE_COLOR", None)
    # The controller-side download cache Molecule's runs use (.config/molecule/config.yml).
    env.setdefault("XDG_CACHE_HOME", str(REPO / ".lab" / "cache" / "xdg"))
    return env


def recap(out):
    """PLAY RECAP counters per host: {host: {"ok": n, "changed": n, "failed": n, ...}}."""
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", line.strip())
        if m:
            rows[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return rows
