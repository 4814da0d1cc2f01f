"""ACLs: default deny, bootstrapped once, one token per client with only what it needs."""

import requests

from conftest import CA, CLIENT, PORTS, SECRETS, acl_sync_failures, api, client, get, token, token_created


def test_anonymous_reads_are_denied():
    assert get("/v1/agent/self").status_code == 403
    assert requests.put(api() + "/v1/kv/secure-test/secret", data="s3", verify=CA, timeout=10,
                        headers={"X-Consul-Token": token("bootstrap")}).json() is True
    assert get("/v1/kv/secure-test/secret").status_code == 403
    assert get("/v1/kv/secure-test/secret", token("prometheus-sd")).status_code == 403
    assert get("/v1/kv/secure-test/secret", token("bootstrap")).status_code == 200
    # A listing leaves out what the token may not read.
    assert get("/v1/kv/", params={"recurse": "1"}).status_code == 404
    assert get("/v1/operator/raft/configuration").status_code == 403
    # The catalog filters what a token may not see: nothing, for anonymous.
    services = get("/v1/catalog/services")
    assert services.status_code == 200 and services.json() == {}
    assert get("/v1/catalog/services", token("prometheus-sd")).json().get("node-exporter") is not None


def test_bootstrapped_exactly_once_and_the_token_on_the_controller_manages():
    again = requests.put(api() + "/v1/acl/bootstrap", verify=CA, timeout=10)
    assert again.status_code == 403 and "no longer allowed" in again.text
    me = get("/v1/acl/token/self", token("bootstrap")).json()
    assert [p["Name"] for p in me["Policies"]] == ["global-management"]
    assert ((SECRETS / "acl" / "bootstrap.token").stat().st_mode & 0o777) == 0o600


def test_each_token_has_its_own_policy_and_nothing_more():
    mgmt = client(token("bootstrap"))
    names = {t["Description"]: [p["Name"] for p in t["Policies"]] for t in mgmt.acl.tokens.list()
             if t.get("Policies")}
    # The servers' shared agent token, the client agent's own (agent-<node>), and the clients'.
    for name in ["agent", "agent-" + CLIENT, "prometheus-sd", "service-registration", "consul-agent-metrics"]:
        assert [name] in names.values(), names
    prom = token("prometheus-sd")
    reg = token("service-registration")
    # Prometheus reads the catalog, writes nothing.
    assert requests.put(api() + "/v1/kv/probe", data="x", headers={"X-Consul-Token": prom}, verify=CA,
                        timeout=10).status_code == 403
    # Registration may register services, not read or write keys, nor manage ACLs.
    assert get("/v1/kv/probe", reg).status_code == 403
    assert get("/v1/acl/tokens", reg).status_code == 403
    # The servers' agent token is in use: no anti-entropy errors for the node since the tokens exist.
    self_ = get("/v1/agent/self", token("bootstrap")).json()
    assert self_["Config"]["NodeName"] == "node1"


def test_servers_sync_with_their_agent_token(box):
    # Node info, coordinate and service sync run with the agent token: they were refused only
    # until the token was created, never after.
    since = token_created("agent") + 10
    for node in PORTS:
        failures = acl_sync_failures(box, "consul@" + node, since)
        assert failures == [], failures
