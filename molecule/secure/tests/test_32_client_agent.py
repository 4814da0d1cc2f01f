"""The secure profile on a client agent (secure-app1): a client member over TLS and gossip
encryption with a certificate that cannot pass as a server's, its own agent token
(agent-secure-app1) that works and writes only its own node, an HTTPS API that refuses anonymous
reads, and its exporters registered on it and scraped by Prometheus (node_exporter over HTTPS
with basic auth, cAdvisor over plain HTTP: docs/exporters.md says why).

Independent clients only: Consul's and Prometheus's HTTP APIs through `requests`, the
certificate through `cryptography`, files and the journal through testinfra."""

import json

import requests
from cryptography import x509
from sdstack_molecule.agent_metrics import agent_targets
from sdstack_molecule.polling import wait_for

from conftest import ADDR, CA, CLIENT, CLIENT_ADDR, SECRETS, acl_sync_failures, get, token, token_created
from test_30_clients import targets

NODE = CLIENT  # the client agent's node name: the short host name
CLIENT_API = "https://%s:8500" % CLIENT_ADDR


def client_get(path, tok=None, **kw):
    return get(path, tok, addr=CLIENT_ADDR, **kw)


def members_seen_by_the_servers():
    """name -> (status, role) of the LAN members, as a server instance sees them."""
    return {m["Name"]: (m["Status"], m["Tags"].get("role"))
            for m in get("/v1/agent/members", token("bootstrap")).json()}


def wait_coordinate(timeout=120):
    """The client's network coordinate in the servers' catalog. The agent sends it with its agent
    token (node:write on its own node): it is there only if that token works in this cluster."""
    def probe():
        r = get("/v1/coordinate/node/" + NODE, token("bootstrap"))
        return r.status_code == 200 and r.json()
    return wait_for(probe, timeout, "a coordinate of %s, sent with its agent token" % NODE, interval=2)


def test_client_agent_runs_as_a_client_with_tls_and_the_gossip_key(app_box):
    svc = app_box.service("consul@%s" % NODE)
    assert svc.is_enabled and svc.is_running
    conf = json.loads(app_box.file("/etc/consul.d/%s/consul.json" % NODE).content_string)
    assert conf["server"] is False and "bootstrap_expect" not in conf
    for k in ["verify_incoming_rpc", "verify_outgoing", "verify_server_hostname"]:
        assert conf[k] is True, k
    assert conf["ports"]["http"] == -1 and conf["ports"]["https"] == 8500
    assert conf["cert_file"] == "/etc/consul.d/tls/client.pem", conf
    secrets = app_box.file("/etc/consul.d/%s/secrets.json" % NODE)
    assert (secrets.user, secrets.group, secrets.mode) == ("root", "consul", 0o640)
    values = json.loads(secrets.content_string)
    assert values["encrypt"] == (SECRETS / "gossip.key").read_text().strip()
    # The key and the token stay out of the file that diffs and logs may show.
    text = app_box.file("/etc/consul.d/%s/consul.json" % NODE).content_string
    assert values["encrypt"] not in text and token("agent-" + NODE) not in text
    key = app_box.file("/etc/consul.d/tls/client-key.pem")
    assert (key.user, key.group, key.mode) == ("root", "consul", 0o640)
    assert not app_box.file("/etc/consul.d/tls/server.pem").exists
    assert not app_box.file("/etc/consul.d/tls/ca-key.pem").exists


def test_client_certificate_cannot_pass_as_a_server():
    # verify_server_hostname: servers present server.dc1.consul; a client's certificate names
    # client.dc1.consul, so a stolen client key cannot impersonate a server.
    cert = x509.load_pem_x509_certificate((SECRETS / "tls" / "certs" / ("%s.pem" % CLIENT)).read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = san.get_values_for_type(x509.DNSName)
    assert "client.dc1.consul" in names and "server.dc1.consul" not in names, names
    assert CLIENT_ADDR in [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def test_client_is_an_alive_client_member_seen_by_the_servers():
    # Status 1: alive; role "node": a client agent (servers carry "consul").
    wait_for(lambda: members_seen_by_the_servers().get(NODE) == (1, "node"), 60,
             "%s alive as a client in the servers' members" % NODE)
    # And the client sees every server alive over the encrypted gossip (its own API, verified
    # against the cluster's CA at its address).
    seen = {m["Name"]: m["Status"] for m in client_get("/v1/agent/members", token("bootstrap")).json()}
    assert {seen.get(n) for n in ("node1", "node2", "node3", NODE)} == {1}, seen


def test_client_api_is_https_only_and_refuses_anonymous():
    anonymous = client_get("/v1/agent/self")
    assert anonymous.status_code == 403, (anonymous.status_code, anonymous.text[:200])
    assert client_get("/v1/kv/secure-test/secret").status_code == 403
    me = client_get("/v1/agent/self", token("bootstrap"))
    assert me.status_code == 200, me.status_code
    assert me.json()["Config"]["NodeName"] == NODE and me.json()["Config"]["Server"] is False
    plain = requests.get("http://%s:8500/v1/agent/self" % CLIENT_ADDR, timeout=5)
    assert plain.status_code == 400 and "HTTPS server" in plain.text, plain.text
    # A client that does not trust the cluster's CA refuses the agent.
    try:
        requests.get(CLIENT_API + "/v1/status/leader", timeout=5)
    except requests.exceptions.SSLError:
        pass
    else:
        raise AssertionError("the client agent's API was trusted without the cluster's CA")


def test_client_agent_token_is_its_own_and_works(app_box):
    mine = token("agent-" + NODE)
    assert mine != token("agent")
    secrets = json.loads(app_box.file("/etc/consul.d/%s/secrets.json" % NODE).content_string)
    assert secrets["acl"]["tokens"]["agent"] == mine
    me = client_get("/v1/acl/token/self", mine)
    assert me.status_code == 200, (me.status_code, me.text[:200])
    assert [p["Name"] for p in me.json()["Policies"]] == ["agent-" + NODE], me.json()
    # It writes its own node only: registering another node is refused.
    other = requests.put(CLIENT_API + "/v1/catalog/register", verify=CA, timeout=10,
                         headers={"X-Consul-Token": mine}, json={"Node": "not-" + NODE, "Address": "192.0.2.1"})
    try:
        assert other.status_code == 403, (other.status_code, other.text[:200])
    finally:
        if other.status_code == 200:
            requests.put(CLIENT_API + "/v1/catalog/deregister", verify=CA, timeout=10,
                         headers={"X-Consul-Token": token("bootstrap")}, json={"Node": "not-" + NODE})
    # And it works: the agent's coordinate (sent with this token) reached the servers.
    wait_coordinate()


def test_client_agent_never_failed_to_sync_once_its_token_existed(app_box):
    # The servers' play creates every client's token before the client starts; a sync or a
    # coordinate update refused by ACLs after that would mean a wrong or missing agent token.
    failures = acl_sync_failures(app_box, "consul@" + NODE, token_created("agent-" + NODE) + 10)
    assert failures == [], failures


def test_client_exporters_are_registered_on_its_own_agent():
    services = client_get("/v1/agent/services", token("prometheus-sd")).json()
    for sid, port in (("node-exporter", 9100), ("cadvisor-exporter", 8080)):
        assert sid in services, sorted(services)
        assert (services[sid]["Address"], services[sid]["Port"]) == (CLIENT_ADDR, port), services[sid]
    # The catalog places them on the client's node, not on a server's.
    node = get("/v1/catalog/node/" + NODE, token("prometheus-sd")).json()
    assert {"node-exporter", "cadvisor-exporter"} <= set(node["Services"]), node

    def checks():
        found = {c["ServiceID"]: c for c in client_get("/v1/agent/checks", token("bootstrap")).json().values()}
        mine = {sid: found.get(sid) for sid in ("node-exporter", "cadvisor-exporter")}
        return all(c and c["Status"] == "passing" for c in mine.values()) and mine
    mine = wait_for(checks, 60, "the client's exporter checks passing")
    # node_exporter behind its web config: a TCP check (no password in a check definition);
    # cAdvisor serves plain HTTP: its HTTP check reads /metrics.
    assert mine["node-exporter"]["Type"] in ("tcp", ""), mine
    assert mine["cadvisor-exporter"]["Type"] in ("http", ""), mine


def test_client_exporters_and_agent_are_up_prometheus_targets():
    want = {("consul-node-exporter", "https://%s:9100/metrics" % CLIENT_ADDR),
            ("consul-cadvisor-exporter", "http://%s:8080/metrics" % CLIENT_ADDR)}

    def probe():
        got = {(t["labels"].get("job"), t["scrapeUrl"]): t for t in targets()}
        return all(k in got and got[k]["health"] == "up" for k in want) and got
    wait_for(probe, 120, "the client's node_exporter (HTTPS) and cAdvisor (HTTP) up targets")
    # Consul's own metrics of the client agent, over HTTPS with the metrics token (test_35).
    agent = agent_targets(targets()).get(NODE)
    assert agent and agent["health"] == "up", agent
    assert agent["scrapeUrl"].startswith(CLIENT_API + "/v1/agent/metrics"), agent["scrapeUrl"]
    # The scrapes carried real series: node_exporter's (so the basic auth was accepted) and cAdvisor's.
    prom = "https://%s:9090/api/v1/query" % ADDR
    auth = ("admin", (SECRETS / "web" / "admin.password").read_text().strip())
    for query in ('node_exporter_build_info{instance="%s:9100"}' % CLIENT_ADDR,
                  'cadvisor_version_info{instance="%s:8080"}' % CLIENT_ADDR):
        result = requests.get(prom, params={"query": query}, auth=auth, verify=CA, timeout=10).json()
        assert result["data"]["result"], (query, result)
