"""acl_objects' pure parts: the accessor a secret names (fixed forever: tokens created by an
earlier release must still be found) and which of Consul's refusals mean "no such ACL object";
then updates and deletes as Consul 1.8.7 answered them."""

import json

import pytest

from ansible_collections.sdstack.consul.plugins.module_utils._acl_objects import AclPolicy, AclToken, _absent, accessor_for
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulClient, ConsulError
from replay import ACL_AGENT_URL, management_token, sent


def test_a_secret_names_the_same_accessor_in_every_release():
    assert accessor_for("prometheus-sd-secret") == "64b9e055-45f7-5b9e-821d-01340f57b487"


@pytest.mark.parametrize("status,body,absent", [
    (404, None, True),
    (403, "ACL not found", True),  # Consul 1.8's answer for a missing token
    (403, "Permission denied", False),
    (403, None, False),
    (500, "token not found", False),
])
def test_only_not_found_answers_mean_absent(status, body, absent):
    assert _absent(ConsulError("m", status=status, body=body)) is absent


def test_objects_are_named_by_their_kind_in_results():
    assert (AclPolicy.kind, AclToken.kind) == ("policy", "token")


def test_a_token_is_identified_by_its_derived_accessor_unless_one_is_given():
    assert AclToken(None, "s").ident == accessor_for("s")
    assert AclToken(None, "s", accessor_id="a-1").ident == "a-1"


# --- update and delete against a real Consul 1.8.7 with ACLs on (default deny), replayed from
# cassettes (tests/unit/replay.py; recorded by tests/unit/fixtures/consul_1.8.7/cassettes/record.py).

# The test token's secret; cassettes hold the placeholder instead.
SECRET = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
CASSETTE_SECRETS = {"secret-of-consul-sd": SECRET}
POLICY = dict(name="consul-sd", description="", rules='service_prefix "" { policy = "read" }\n')


@pytest.fixture
def client(cassette):
    return ConsulClient([ACL_AGENT_URL], token=management_token())


def policy_id(client, name):
    return [p for p in client.get("/v1/acl/policies").body if p["Name"] == name][0]["ID"]


def sd_token(client, **desired):
    desired = dict(dict(accessor_id=accessor_for(SECRET), description="sd", policies=["consul-sd"], local=False),
                   **desired)
    return AclToken(client, SECRET, desired)


def test_a_policy_is_deleted_by_its_id_once(client, cassette):
    AclPolicy(client, "consul-sd", POLICY).ensure("present")
    pid = policy_id(client, "consul-sd")
    result = AclPolicy(client, "consul-sd").ensure("absent")
    assert (result["changed"], result["action"], result["diff"]["before"]) == (True, "deleted", POLICY)
    assert sent(cassette)[-1] == ("DELETE", "/v1/acl/policy/" + pid)
    assert AclPolicy(client, "consul-sd").ensure("absent")["changed"] is False
    assert sent(cassette)[-1] == ("GET", "/v1/acl/policies")


def test_a_token_update_goes_to_its_accessor_without_the_secret(client, cassette):
    AclPolicy(client, "consul-sd", POLICY).ensure("present")
    AclPolicy(client, "other", dict(POLICY, name="other")).ensure("present")
    sd_token(client).ensure("present")
    result = sd_token(client, description="changed", policies=["consul-sd", "other"]).ensure("present")
    assert (result["changed"], result["action"]) == (True, "updated")
    assert sent(cassette)[-1] == ("PUT", "/v1/acl/token/" + accessor_for(SECRET))
    assert json.loads(cassette.sent[-1].body) == {"Description": "changed", "Local": False,
                                                  "Policies": [{"Name": "consul-sd"}, {"Name": "other"}]}
    assert sd_token(client).read() == dict(accessor_id=accessor_for(SECRET), description="changed",
                                           policies=["consul-sd", "other"], local=False)


def test_a_local_token_reads_back_as_local(client, cassette):
    AclPolicy(client, "consul-sd", POLICY).ensure("present")
    sd_token(client, local=True).ensure("present")
    assert json.loads(cassette.sent[-1].body)["Local"] is True
    assert sd_token(client).read()["local"] is True


def test_a_token_is_deleted_by_its_accessor_once(client, cassette):
    AclPolicy(client, "consul-sd", POLICY).ensure("present")
    sd_token(client).ensure("present")
    result = sd_token(client).ensure("absent")
    assert (result["changed"], result["action"]) == (True, "deleted")
    assert sent(cassette)[-1] == ("DELETE", "/v1/acl/token/" + accessor_for(SECRET))
    assert sd_token(client).ensure("absent")["changed"] is False
    assert sent(cassette)[-1] == ("GET", "/v1/acl/token/" + accessor_for(SECRET))
