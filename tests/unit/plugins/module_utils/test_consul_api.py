import io
import json

import pytest
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError

from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import (
    CONNECTION_ARGSPEC,
    ConsulClient,
    ConsulError,
    path_segment,
)


class FakeResponse:
    def __init__(self, status, body, headers=None):
        self._status, self._body, self.headers = status, body, headers or {}

    def getcode(self):
        return self._status

    def read(self):
        return self._body


class Opener:
    """Stands in for open_url: answers per base URL, records every call."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, url, **kw):
        self.calls.append((url, kw))
        for base, answer in self.answers.items():
            if url.startswith(base):
                if isinstance(answer, Exception):
                    raise answer
                status, body = answer
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                if status >= 400:
                    raise HTTPError(url, status, "err", {}, io.BytesIO(raw))
                return FakeResponse(status, raw)
        raise AssertionError("unexpected URL " + url)


A, B = "http://10.0.0.1:8500", "http://10.0.0.2:8500"


def test_unreachable_first_url_falls_through_to_the_next():
    op = Opener({A: URLError(ConnectionRefusedError(111, "Connection refused")), B: (200, "10.0.0.2:8300")})
    c = ConsulClient([A, B], opener=op)
    assert c.get("/v1/status/leader").body == "10.0.0.2:8300"
    # The answering agent is tried first afterwards.
    c.get("/v1/status/leader")
    assert [call[0] for call in op.calls] == [A + "/v1/status/leader", B + "/v1/status/leader", B + "/v1/status/leader"]


def test_http_error_is_the_clusters_answer_not_a_reason_to_move_on():
    op = Opener({A: (500, b"No cluster leader"), B: (200, "x")})
    with pytest.raises(ConsulError) as e:
        ConsulClient([A, B], opener=op).get("/v1/operator/raft/configuration")
    assert str(e.value) == "GET /v1/operator/raft/configuration: HTTP 500: No cluster leader"
    assert e.value.status == 500
    assert len(op.calls) == 1


def test_all_unreachable_is_one_line_naming_each_agent():
    op = Opener({A: URLError("timed out"), B: OSError(113, "No route to host")})
    with pytest.raises(ConsulError) as e:
        ConsulClient([A, B], opener=op).get("/v1/status/leader")
    msg = str(e.value)
    assert msg.startswith("no Consul agent reachable: ")
    assert A in msg and B in msg and "timed out" in msg and "\n" not in msg
    assert e.value.status is None


def test_accepted_statuses_return_the_body():
    op = Opener({A: (429, {"Healthy": False})})
    r = ConsulClient([A], opener=op).get("/v1/operator/autopilot/health", ok=(200, 429))
    assert r.status == 429 and r.body == {"Healthy": False}


def test_token_header_tls_options_and_query():
    op = Opener({A: (200, [])})
    c = ConsulClient([A + "/"], token="s3cret", ca_path="/ca.pem", client_cert="/c.pem", client_key="/k.pem",
                     validate_certs=False, timeout=3, opener=op)
    c.put("/v1/agent/service/register", body={"ID": "x"}, params={"replace-existing-checks": "true", "skip": None})
    url, kw = op.calls[0]
    assert url == A + "/v1/agent/service/register?replace-existing-checks=true"
    assert kw["method"] == "PUT" and json.loads(kw["data"]) == {"ID": "x"}
    assert kw["headers"]["X-Consul-Token"] == "s3cret" and kw["headers"]["Content-Type"] == "application/json"
    assert (kw["ca_path"], kw["client_cert"], kw["client_key"], kw["validate_certs"], kw["timeout"]) == (
        "/ca.pem", "/c.pem", "/k.pem", False, 3)


def test_flag_parameters_are_sent_bare():
    op = Opener({A: (200, {})})
    ConsulClient([A], opener=op).get("/v1/operator/raft/configuration", params={"stale": True})
    assert op.calls[0][0].endswith("/v1/operator/raft/configuration?stale=")


def test_no_token_header_without_token():
    op = Opener({A: (200, "")})
    ConsulClient([A], opener=op).get("/v1/status/leader")
    assert "X-Consul-Token" not in op.calls[0][1]["headers"]


@pytest.mark.parametrize("urls,needle", [([], "at least one"), (["10.0.0.1:8500"], "not an http")])
def test_bad_urls_are_refused_before_any_request(urls, needle):
    with pytest.raises(ConsulError, match=needle):
        ConsulClient(urls, opener=Opener({}))


def test_token_is_no_log():
    assert CONNECTION_ARGSPEC["token"]["no_log"] is True


def test_path_segment_quotes_everything():
    assert path_segment("a/b c") == "a%2Fb%20c"
