"""consul_raft with a token that may not read Raft state: one line at once, even when waiting."""

import io
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError
from urllib.response import addinfourl

from ansible_collections.sdstack.consul.plugins.modules import consul_raft


def denying(url, **_kw):
    # Consul 1.8.7 with default-deny ACLs: status endpoints are open, operator ones are not.
    if url.endswith("/v1/status/leader"):
        return addinfourl(io.BytesIO(b'"10.89.20.71:8300"'), {}, url, 200)
    raise HTTPError(url, 403, "Forbidden", {}, io.BytesIO(b"Permission denied"))


def test_permission_denied_fails_at_once_with_what_the_token_needs(run_module):
    t0 = time.monotonic()
    result = run_module(consul_raft, denying, url=["https://127.0.0.1:8500"], token="0f3b8a9e-6a43-4c8e-9d0e-2f7c1b5a4d21", expected_voters=3,
                        wait=True, wait_timeout=30)
    assert time.monotonic() - t0 < 5
    assert result["failed"] is True
    assert result["msg"].startswith("GET /v1/operator/raft/configuration: HTTP 403: Permission denied")
    assert "(the token needs operator:read" in result["msg"] and "\n" not in result["msg"]
