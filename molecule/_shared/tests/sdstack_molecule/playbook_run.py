"""Rerun a scenario's playbook from a verifier, with extra vars or flags, the way bad-input and
rerun tests need it: same inventory and collection path as Molecule's own runs, output captured,
the PLAY RECAP parsed.

A test module imports what it uses:
    from sdstack_molecule.playbook_run import run_module, module_failure, converge, run_playbook, recap
Every module or playbook run whose result a test asserts goes through here: a failed run raises
(ModuleFailed / PlaybookFailed, with the module's msg) unless the test asked for a failure.
"""

import json
import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]


def run_playbook(playbook, extra=None, *args, timeout=600):
    """Run ``ansible-playbook`` on the scenario's inventory; returns (return code, stdout + stderr).

    ``extra`` is sent as one JSON ``-e`` (typed values); ``args`` are passed as they are."""
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook)]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    cmd += list(args)
    run = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False)
    return run.returncode, run.stdout + run.stderr


class ModuleFailed(AssertionError):
    """A module run that failed (or could not reach its host); the message is the module's msg."""

    def __init__(self, host, module, result):
        self.result = result
        super().__init__("%s on %s failed: %s" % (module, host, result.get("msg", result)))


class PlaybookFailed(AssertionError):
    """A playbook run that exited non-zero; the message is the msg of each failed result."""


def _host_name(host):
    """A testinfra host or an inventory name."""
    return host if isinstance(host, str) else host.backend.get_hostname()


def module_result(host, module, args, check=False, timeout=120):
    """Run one module on one host of the scenario's inventory, as a playbook task would (ad hoc,
    far quicker than a playbook per call); returns its result with a ``failed`` flag, whatever
    the outcome. Tests that expect a refusal use this; everything else uses ``run_module``.

    Why not testinfra's ``host.ansible()``: with ansible-core 2.19 its result has no ``failed``
    key, so a module that failed reads as ``changed: False``."""
    name = _host_name(host)
    env = dict(_env(), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal")
    cmd = ["ansible", name, "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-m", module, "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    # "host | FAILED! => {...}", "host | SUCCESS => {...}", "host | CHANGED => {...}", "host | UNREACHABLE! => {...}".
    m = re.search(r"^%s \| (\w+)!? => (\{.*)" % re.escape(name), run.stdout, re.S | re.M)
    if not m:
        raise ModuleFailed(name, module, {"msg": "no result in the output: " + (run.stdout + run.stderr)[-2000:]})
    result = json.loads(m.group(2))
    result["failed"] = m.group(1) in ("FAILED", "UNREACHABLE")
    return result


def run_module(host, module, args, check=False, timeout=120):
    """``module_result`` for a run that must succeed: raises ModuleFailed with the module's msg."""
    result = module_result(host, module, args, check=check, timeout=timeout)
    if result["failed"]:
        raise ModuleFailed(_host_name(host), module, result)
    return result


def module_failure(host, module, args, check=False, timeout=120):
    """``module_result`` for a run that must fail: returns the result, raises if it succeeded."""
    result = module_result(host, module, args, check=check, timeout=timeout)
    assert result["failed"], "%s on %s was expected to fail: %s" % (module, _host_name(host), result)
    return result


def converge(playbook, extra=None, *args, timeout=600):
    """``run_playbook`` for a run that must succeed: returns its output, raises PlaybookFailed with
    the msg of every failed result (or the tail of the output) otherwise."""
    rc, out = run_playbook(playbook, extra, *args, timeout=timeout)
    if rc != 0:
        msgs = [r.get("msg", "") for r in failed_results(out)]
        raise PlaybookFailed("%s exited %d: %s" % (playbook, rc, " | ".join(msgs) if msgs else out[-3000:]))
    return out


def _env():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".lab" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0")
    # Molecule forces colour for its own runs; escape codes would break matching the output.
    env.pop("ANSIBLE_FORCE_COLOR", None)
    # The controller-side download cache Molecule's runs use (.config/molecule/config.yml).
    env.setdefault("XDG_CACHE_HOME", str(REPO / ".lab" / "cache" / "xdg"))
    return env


def failed_results(out, host=None):
    """Each failed result, optionally only the given host's."""
    rx = r"^(?:fatal|failed): \[(\S+)(?: -> \S+)?\](?:: FAILED!| \(item=.*?\)) => (\{.*\})$"
    return [json.loads(m.group(2)) for m in re.finditer(rx, out, re.M) if host in (None, m.group(1))]


def recap(out):
    """PLAY RECAP counters per host: {host: {"ok": n, "changed": n, "failed": n, ...}}."""
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", line.strip())
        if m:
            rows[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return rows
