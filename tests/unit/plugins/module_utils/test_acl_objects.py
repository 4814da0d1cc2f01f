"""ACL policy and token objects against recorded Consul 1.8.7 answers."""

import io
import json
from pathlib import Path

import pytest
from ansible.module_utils.six.moves.urllib.error import HTTPError

from ansible_collections.sdstack.consul.plugins.module_utils.acl_objects import AclPolicy, AclToken, accessor_for
from ansible_collections.sdstack.consul.plugins.module_utils.consul_api import ConsulClient, ConsulError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "consul_1.8.7" / "acl"


def fixture(name):
    return json.loads((FIXTURES / (name + ".json")).read_text())


class Replay:
    """open_url stand-in: answers each (method, path) with its recorded response; logs requests."""

    def __init__(self, *names):
        self.answers = {}
        for n in names:
            f = fixture(n)
            self.answers[(f["method"], f["path"])] = f
        self.sent = []

    def __call__(self, url, method=None, data=None, **_kw):
        path = url.split("8500", 1)[1]
        self.sent.append((method, path, json.loads(data) if data else None))
        f = self.answers.get((method, path))
        if f is None:
            if method == "PUT":
                f = dict(status=200, body=True, headers={"Content-Type": "application/json"})
            else:
                raise AssertionError("unexpected request %s %s" % (method, path))
        raw = f["body"] if isinstance(f["body"], str) else json.dumps(f["body"])
        if f["status"] >= 400:
            raise HTTPError(url, f["status"], "error", {}, io.BytesIO(raw.encode()))
        resp = io.BytesIO(raw.encode())
        resp.getcode = lambda: f["status"]
        resp.headers = {}
        return resp


def client(opener):
    return ConsulClient(["https://10.89.20.71:8500"], token="t", opener=opener)


def test_policy_read_by_name_through_the_list():
    pid = [p for p in fixture("01_list_policies")["body"] if p["Name"] == "prometheus-sd"][0]["ID"]
    assert fixture("02_read_policy_prometheus_sd")["path"].endswith(pid)
    replay = Replay("01_list_policies", "02_read_policy_prometheus_sd")
    policy = AclPolicy(client(replay), "prometheus-sd")
    got = policy.read()
    assert got["name"] == "prometheus-sd" and 'service_prefix "" { policy = "read" }' in got["rules"]
    # Same rules: no write.
    result = AclPolicy(client(replay), "prometheus-sd", dict(got)).ensure("present")
    assert result["changed"] is False and [m for m, _p, _b in replay.sent] == ["GET"] * 4


def test_policy_update_goes_to_its_id_and_a_new_one_to_the_collection():
    replay = Replay("01_list_policies", "02_read_policy_prometheus_sd")
    desired = dict(name="prometheus-sd", description="changed", rules='node_prefix "" { policy = "read" }\n')
    assert AclPolicy(client(replay), "prometheus-sd", desired).ensure("present")["action"] == "updated"
    pid = fixture("02_read_policy_prometheus_sd")["path"].rsplit("/", 1)[1]
    assert replay.sent[-1][:2] == ("PUT", "/v1/acl/policy/" + pid)
    replay = Replay("01_list_policies")
    new = dict(name="other", description="", rules='key_prefix "" { policy = "read" }')
    assert AclPolicy(client(replay), "other", new).ensure("present")["action"] == "created"
    assert replay.sent[-1] == ("PUT", "/v1/acl/policy", {"Name": "other", "Description": "", "Rules": new["rules"]})


def test_policy_with_bad_rules_fails_with_consuls_reason():
    replay = Replay("01_list_policies", "03_create_policy_bad_rules")
    desired = dict(name="broken", description="", rules='service_prefix "" { policy = "reed" }')
    with pytest.raises(ConsulError) as err:
        AclPolicy(client(replay), "broken", desired).ensure("present")
    assert "HTTP 500" in str(err.value) and 'Policy:"reed"' in str(err.value) and "\n" not in str(err.value)


def test_missing_token_reads_as_absent_on_consul_18s_403():
    accessor = fixture("04_read_token_missing")["path"].rsplit("/", 1)[1]
    replay = Replay("04_read_token_missing")
    token = AclToken(client(replay), "11111111-2222-3333-4444-555555555555", accessor_id=accessor)
    token.desired = dict(accessor_id=accessor, description="d", policies=["p"], local=False)
    result = token.ensure("present", check_mode=True)
    assert result["action"] == "created" and result["changed"] is True
    assert [m for m, _p, _b in replay.sent] == ["GET"]


def test_existing_token_compared_without_its_secret():
    body = fixture("05_read_token_prometheus_sd")["body"]
    token = AclToken(client(Replay("05_read_token_prometheus_sd")), body["SecretID"], accessor_id=body["AccessorID"])
    token.desired = dict(accessor_id=body["AccessorID"], description=body["Description"],
                         policies=["prometheus-sd"], local=False)
    result = token.ensure("present")
    assert result["changed"] is False
    assert body["SecretID"] not in json.dumps(result)


def test_a_token_with_another_secret_is_refused():
    body = fixture("05_read_token_prometheus_sd")["body"]
    token = AclToken(client(Replay("05_read_token_prometheus_sd")), "not-its-secret", accessor_id=body["AccessorID"])
    with pytest.raises(ConsulError, match="exists with another secret"):
        token.read()


def test_accessor_is_derived_from_the_secret_and_does_not_contain_it():
    secret = "0f3b8a9e-6a43-4c8e-9d0e-2f7c1b5a4d21"
    assert accessor_for(secret) == accessor_for(secret) != accessor_for(secret.replace("0f", "1f"))
    assert secret not in accessor_for(secret)
