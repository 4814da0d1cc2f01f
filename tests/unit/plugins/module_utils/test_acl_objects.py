"""ACL policy and token objects against a real Consul 1.8.7 with ACLs on (default deny), replayed
from cassettes (tests/unit/replay.py; recorded by tests/unit/fixtures/consul_1.8.7/cassettes/record.py).
Every cassette starts from an agent with only Consul's own tokens and policies."""

import json

import pytest

from ansible_collections.sdstack.consul.plugins.module_utils._acl_objects import AclPolicy, AclToken, accessor_for
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulClient, ConsulError
from replay import ACL_AGENT_URL, management_token, sent

PROMETHEUS_SD = dict(name="prometheus-sd", description="Prometheus Consul service discovery (read-only)",
                     rules='service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }\n'
                           'agent_prefix "" { policy = "read" }\n')
# The test token's secret; cassettes hold the placeholder instead.
SECRET = "3f2b8c1e-5d4a-4b6f-9e7d-1a2b3c4d5e6f"
CASSETTE_SECRETS = {"secret-of-prometheus-sd": SECRET}


@pytest.fixture
def client(cassette):
    return ConsulClient([ACL_AGENT_URL], token=management_token())


@pytest.fixture
def prometheus_sd(client):
    """The policy, created; its ID as Consul made it."""
    AclPolicy(client, "prometheus-sd", PROMETHEUS_SD).ensure("present")
    return [p for p in client.get("/v1/acl/policies").body if p["Name"] == "prometheus-sd"][0]["ID"]


def token(client, secret=SECRET, **desired):
    desired = dict(dict(accessor_id=accessor_for(SECRET), description="Prometheus", policies=["prometheus-sd"],
                        local=False), **desired)
    return AclToken(client, secret, desired, accessor_id=accessor_for(SECRET))


def test_policy_read_by_name_through_the_list(client, cassette, prometheus_sd):
    got = AclPolicy(client, "prometheus-sd").read()
    assert got == PROMETHEUS_SD
    assert sent(cassette)[-2:] == [("GET", "/v1/acl/policies"), ("GET", "/v1/acl/policy/" + prometheus_sd)]
    # Same rules: no write.
    assert AclPolicy(client, "prometheus-sd", dict(got)).ensure("present")["changed"] is False
    assert sent(cassette)[-1][0] == "GET"


def test_policy_update_goes_to_its_id_and_a_new_one_to_the_collection(client, cassette, prometheus_sd):
    desired = dict(PROMETHEUS_SD, description="changed")
    assert AclPolicy(client, "prometheus-sd", desired).ensure("present")["action"] == "updated"
    assert sent(cassette)[-1] == ("PUT", "/v1/acl/policy/" + prometheus_sd)
    new = dict(name="other", description="", rules='key_prefix "" { policy = "read" }')
    assert AclPolicy(client, "other", new).ensure("present")["action"] == "created"
    assert sent(cassette)[-1] == ("PUT", "/v1/acl/policy")
    assert json.loads(cassette.sent[-1].body) == {"Name": "other", "Description": "", "Rules": new["rules"]}
    assert AclPolicy(client, "other", new).read() == new


def test_policy_with_bad_rules_fails_with_consuls_reason(client):
    desired = dict(name="broken", description="", rules='service_prefix "" { policy = "reed" }')
    with pytest.raises(ConsulError) as err:
        AclPolicy(client, "broken", desired).ensure("present")
    assert "PUT /v1/acl/policy: HTTP 500" in str(err.value) and 'Policy:"reed"' in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_token_reads_as_absent_on_consul_18s_403(client, cassette):
    result = token(client).ensure("present", check_mode=True)
    assert result["action"] == "created" and result["changed"] is True
    assert sent(cassette) == [("GET", "/v1/acl/token/" + accessor_for(SECRET))]
    assert cassette.responses[0]["status"]["code"] == 403


def test_token_is_created_then_compared_without_its_secret(client, cassette, prometheus_sd):
    assert token(client).ensure("present")["action"] == "created"
    assert sent(cassette)[-1] == ("PUT", "/v1/acl/token")
    result = token(client).ensure("present")
    assert result["changed"] is False, result
    assert SECRET not in json.dumps(result)


def test_a_token_with_another_secret_is_refused(client, prometheus_sd):
    token(client).ensure("present")
    with pytest.raises(ConsulError, match="exists with another secret"):
        token(client, secret="0f3b8a9e-6a43-4c8e-9d0e-2f7c1b5a4d21").read()


def test_accessor_is_derived_from_the_secret_and_does_not_contain_it():
    secret = "0f3b8a9e-6a43-4c8e-9d0e-2f7c1b5a4d21"
    assert accessor_for(secret) == accessor_for(secret) != accessor_for(secret.replace("0f", "1f"))
    assert secret not in accessor_for(secret)
