"""The checks every bad-input test makes on a refused run (docs/bad-input.md): what it printed,
as the default callback prints it (one JSON line per failed task or loop item, `fatal: [host]:
FAILED! => {...}`, `failed: [host] (item=...) => {...}`), and its PLAY RECAP."""

import json
import re
from datetime import datetime
from pathlib import Path

from sdstack_molecule.playbook_run import failed_results, recap

# ansible-core's own header above argument_specs errors; each bad argument then has one line.
ARGSPEC_HEADER = "Validation of arguments failed:\n"
DOC = Path(__file__).resolve().parents[4] / "docs" / "bad-input.md"


def failure_message(out, host):
    """msg of the host's last failed result (an earlier one may have been rescued)."""
    results = failed_results(out, host)
    assert results, "no failed result for %s in: %s" % (host, out[-3000:])
    msg = results[-1].get("msg", "")
    return msg[len(ARGSPEC_HEADER):] if msg.startswith(ARGSPEC_HEADER) else msg


def assert_one_line_naming(msg, *parts):
    """The documented message (or each of its stable parts) is in msg, and msg is one line."""
    assert "\n" not in msg and all(p in msg for p in parts), "expected one line with %r, got %r" % (parts, msg)


def assert_refused(rc, out, hosts, *parts, may_change=None):
    """A refused playbook run as docs/bad-input.md states it: failed, no Traceback, each host's
    last failed result has a one-line msg holding every part, and the recap says changed=0 for
    each host. ``may_change`` is the reason a declared exception may report changes (the test's
    own dict of exceptions, which the doc names too). Returns {host: msg}."""
    assert rc != 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    rows = recap(out)
    msgs = {}
    for host in hosts:
        msgs[host] = failure_message(out, host)
        assert_one_line_naming(msgs[host], *parts)
        assert rows[host]["failed"] >= 1, (host, rows)
        assert may_change or rows[host]["changed"] == 0, "%s reported changes: %s" % (host, rows[host])
    return msgs


def assert_module_refused(result, *parts):
    """A refused module run: its one-line msg names the value, no change, no Traceback."""
    assert result["failed"] and not result.get("changed"), result
    assert "Traceback" not in json.dumps(result), result
    assert_one_line_naming(result.get("msg", ""), *parts)


def case_id(request):
    """The bad-input case's parametrize id, without the host id testinfra puts in front of it
    (``ansible://<host>-``) in tests that take its ``host`` fixture."""
    spec = request.node.callspec
    host = spec.params.get("_testinfra_host")
    prefix = host.backend.get_pytest_id() + "-" if host is not None else ""
    return spec.id[len(prefix):] if spec.id.startswith(prefix) else spec.id


def declared_exceptions(test_file, relaxed):
    """{case id: reason} of the doc's "Declared exceptions" rows for this test file whose relaxed
    check is ``relaxed`` (e.g. "changed>0")."""
    name = Path(test_file).resolve().relative_to(DOC.parents[1]).as_posix()
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| `([^`]+)` \| (.+?) \|$", DOC.read_text(), re.M)
    return {case: why for path, case, kind, why in rows if (path, kind) == (name, relaxed)}


def assert_doc_declares(test_file, relaxed, exceptions):
    """The test's declared exceptions and the doc's name the same cases."""
    documented = declared_exceptions(test_file, relaxed)
    assert set(exceptions) == set(documented), "docs/bad-input.md declares %s for `%s`, the test %s" % (
        sorted(documented), relaxed, sorted(exceptions))


def logged_times(log_path, pattern):
    """Times of the lines of an ANSIBLE_LOG_PATH log that match a regex (the log stamps each
    printed line to the millisecond; the console output has no times)."""
    times = []
    for line in Path(log_path).read_text().splitlines():
        m = re.match(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?\| (.*)$", line)
        if m and re.search(pattern, m.group(2)):
            times.append(datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f"))
    return times
