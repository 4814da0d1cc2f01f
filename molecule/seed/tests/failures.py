"""The message of a rerun's failed task, as the default callback prints it: one JSON line per
failed result (`fatal: [host]: FAILED! => {...}`)."""

import json
import re

# ansible-core's own header above argument_specs errors; each bad argument then has one line.
ARGSPEC_HEADER = "Validation of arguments failed:\n"


def failure_message(out, host):
    """msg of the host's last failed result (an earlier one may have been rescued)."""
    results = [json.loads(m.group(1)) for m in re.finditer(r"^fatal: \[%s(?: -> \S+)?\]: FAILED! => (\{.*\})$"
                                                           % re.escape(host), out, re.M)]
    assert results, out[-3000:]
    msg = results[-1]["msg"]
    return msg[len(ARGSPEC_HEADER):] if msg.startswith(ARGSPEC_HEADER) else msg
