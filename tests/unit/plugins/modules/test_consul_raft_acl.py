"""consul_raft with a token that may not read Raft state, against a real Consul 1.8.7 with ACLs on
(default deny), replayed from a cassette (tests/unit/replay.py): one line at once, even when waiting."""

from ansible_collections.sdstack.consul.plugins.module_utils._acl_objects import AclPolicy, AclToken, accessor_for
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulClient
from ansible_collections.sdstack.consul.plugins.modules import consul_raft
from replay import ACL_AGENT_URL, management_token, sent

# The test token's secret; the cassette holds the placeholder instead.
SECRET = "0f3b8a9e-6a43-4c8e-9d0e-2f7c1b5a4d21"
CASSETTE_SECRETS = {"secret-of-no-operator": SECRET}


def test_permission_denied_fails_at_once_with_what_the_token_needs(run_module, cassette):
    admin = ConsulClient([ACL_AGENT_URL], token=management_token())
    rules = 'node_prefix "" { policy = "read" }\nagent_prefix "" { policy = "read" }\n'
    AclPolicy(admin, "no-operator", dict(name="no-operator", description="", rules=rules)).ensure("present")
    AclToken(admin, SECRET, dict(accessor_id=accessor_for(SECRET), description="", policies=["no-operator"],
                                 local=False)).ensure("present")
    before = len(cassette.sent)
    result = run_module(consul_raft, None, url=[ACL_AGENT_URL], token=SECRET, expected_voters=3,
                        wait=True, wait_timeout=30)
    assert result["failed"] is True
    assert result["msg"].startswith("GET /v1/operator/raft/configuration: HTTP 403: Permission denied")
    assert "(the token needs operator:read" in result["msg"] and "\n" not in result["msg"]
    # At once: one read, no second round (the cassette would not answer one).
    assert sent(cassette)[before:] == [("GET", "/v1/status/leader"), ("GET", "/v1/operator/raft/configuration?stale=")]
