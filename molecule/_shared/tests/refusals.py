"""What a refused rerun printed, as the default callback prints it: one JSON line per failed task
or loop item (`fatal: [host]: FAILED! => {...}`, `failed: [host] (item=...) => {...}`)."""

import json
import re

# ansible-core's own header above argument_specs errors; each bad argument then has one line.
ARGSPEC_HEADER = "Validation of arguments failed:\n"


def failed_results(out, host=None):
    """Each failed result, optionally only the given host's."""
    rx = r"^(?:fatal|failed): \[(\S+)(?: -> \S+)?\](?:: FAILED!| \(item=.*?\)) => (\{.*\})$"
    return [json.loads(m.group(2)) for m in re.finditer(rx, out, re.M) if host in (None, m.group(1))]


def failure_message(out, host):
    """msg of the host's last failed result (an earlier one may have been rescued)."""
    results = failed_results(out, host)
    assert results, out[-3000:]
    msg = results[-1]["msg"]
    return msg[len(ARGSPEC_HEADER):] if msg.startswith(ARGSPEC_HEADER) else msg


def strings_in(value):
    """Every string inside a result, however deep."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def names_it(result, message):
    """The result's line carries the message (in msg, or in the field that holds the tool's own
    words, e.g. a validate command's stderr) and its msg is one line (ansible-core's header above
    argument_specs errors aside)."""
    msg = result.get("msg", "").split(ARGSPEC_HEADER, 1)[-1]
    return "\n" not in msg and any(message in s for s in strings_in(result))
