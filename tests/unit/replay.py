"""Tests against what Consul 1.8.7 answered: one vcrpy cassette per test.

A test that asks for the ``cassette`` fixture replays
``fixtures/consul_1.8.7/cassettes/<test module>/<test name>.yaml``. Requests are matched on method,
path, query and body, each recorded answer is played once and in order, so a request the cassette
does not hold fails the test with vcrpy's CannotOverwriteExistingCassetteException naming it, and a
recorded request the test did not send fails it at teardown.

``fixtures/consul_1.8.7/cassettes/record.py`` runs the same tests with SDSTACK_RECORD=1 against real
local agents, which rewrites the cassettes (see the README there).
"""

import os
import re
from pathlib import Path

import pytest
import vcr

RECORDING = os.environ.get("SDSTACK_RECORD") == "1"
CASSETTES = Path(__file__).resolve().parent / "fixtures" / "consul_1.8.7" / "cassettes"

# The recorder's agents listen here (loopback only); a replay needs nothing listening.
AGENT_URL = "http://127.0.0.1:18500"
ACL_AGENT_URL = "http://127.0.0.1:18510"

# The ACL agent's management token is random per recording and written to no cassette; a
# replay stands this placeholder in for it.
MANAGEMENT_PLACEHOLDER = "management-token"

# urllib would send requests for a proxied URL to the proxy, with another path.
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def management_token():
    return os.environ["SDSTACK_RECORD_TOKEN"] if RECORDING else MANAGEMENT_PLACEHOLDER


def cassette_path(module_name, test_name):
    return CASSETTES / module_name / (re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name) + ".yaml")


def sent(cassette):
    """(method, path with query) of every request the test sent so far, in order."""
    return [(r.method, r.path + ("?" + r.uri.split("?", 1)[1] if "?" in r.uri else "")) for r in cassette.sent]


def _log_sent(cass):
    """cass.sent: the requests answered so far (as recorded: filtered), whether played or recorded."""
    cass.sent = []
    play, append = cass.play_response, cass.append

    def play_response(request):
        response = play(request)
        cass.sent.append(cass.filter_request(request))
        return response

    def record(request, response):
        append(request, response)
        cass.sent.append(cass.filter_request(request))

    cass.play_response, cass.append = play_response, record


@pytest.fixture
def cassette(request, monkeypatch):
    """The test's cassette, replayed (or recorded under the recorder).

    A test module may define CASSETTE_SECRETS = {placeholder: secret}: each secret is written to the
    cassette as its placeholder and put back when the cassette is loaded.
    """
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    path = cassette_path(Path(request.node.fspath).stem, request.node.name)
    if RECORDING:
        path.unlink(missing_ok=True)
    secrets = dict(getattr(request.module, "CASSETTE_SECRETS", {}))
    secrets[MANAGEMENT_PLACEHOLDER] = management_token()
    with vcr.use_cassette(
        str(path),
        record_mode="all" if RECORDING else "none",
        match_on=("method", "path", "query", "body"),
        filter_headers=["X-Consul-Token"],
        filter_sensitive_data=secrets,
    ) as cass:
        _log_sent(cass)
        yield cass
    unplayed = [r for i, r in enumerate(cass.requests) if not cass.play_counts[i]]
    assert RECORDING or not unplayed, "recorded in %s but not sent: %s" % (path.name, unplayed)
