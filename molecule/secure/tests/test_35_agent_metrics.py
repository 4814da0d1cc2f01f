"""Consul's own metrics under the secure profile: Prometheus scrapes every agent over HTTPS with
the agent-read token consul-agent-metrics (a bearer token); without a token the endpoint refuses."""

import pytest
import requests
from sdstack_molecule.agent_metrics import (
    AGENT_GAUGE, assert_scraped_from_the_metrics_endpoint, wait_every_agent_up, wait_self_scrape_up)

from conftest import ADDR, CA, CLIENT, CLIENT_ADDR, PORTS, client, get, token
from test_30_clients import targets

METRICS = "/v1/agent/metrics"


def nodes():
    names = sorted(n["Node"] for n in client(token("prometheus-sd")).catalog.nodes()[1])
    # The catalog decides which agents to expect; it must hold the servers and the client agent.
    assert set(PORTS) | {CLIENT} <= set(names), names
    return names


def test_the_metrics_token_is_in_the_config_file_and_nothing_else_can(box):
    text = box.file("/etc/prometheus/prometheus.yml").content_string
    assert token("consul-agent-metrics") in text
    # Its policy is agent read only: no catalog, no KV.
    seen = get("/v1/catalog/services", tok=token("consul-agent-metrics")).json()
    assert seen == {}, seen
    # A listing leaves out what the token may not read (as for anonymous in test_20_acl).
    assert get("/v1/kv/", tok=token("consul-agent-metrics"), params={"recurse": "1"}).status_code == 404
    assert get("/v1/operator/raft/configuration", tok=token("consul-agent-metrics")).status_code == 403


def test_every_agent_is_scraped_with_the_token():
    got = wait_every_agent_up(targets, nodes())
    assert_scraped_from_the_metrics_endpoint(got, "https")


# Every server instance, and the client agent on its own host.
AGENTS = {node: (ADDR, port) for node, port in PORTS.items()}
AGENTS[CLIENT] = (CLIENT_ADDR, 8500)


@pytest.mark.parametrize("node", sorted(AGENTS))
def test_anonymous_metrics_are_refused_and_the_token_is_accepted(node):
    addr, port = AGENTS[node]
    anonymous = get(METRICS, port=port, addr=addr, params={"format": "prometheus"})
    assert anonymous.status_code == 403, (anonymous.status_code, anonymous.text[:200])
    with_token = get(METRICS, tok=token("consul-agent-metrics"), port=port, addr=addr,
                     params={"format": "prometheus"})
    assert with_token.status_code == 200 and AGENT_GAUGE in with_token.text, with_token.status_code


def test_the_token_is_sent_as_a_bearer_token_too():
    """Prometheus sends Authorization: Bearer, not X-Consul-Token: Consul must accept that form."""
    r = requests.get("https://%s:%d%s" % (ADDR, PORTS["node1"], METRICS),
                     params={"format": "prometheus"}, verify=CA, timeout=10,
                     headers={"Authorization": "Bearer " + token("consul-agent-metrics")})
    assert r.status_code == 200 and AGENT_GAUGE in r.text, r.status_code


def test_prometheus_scrapes_itself():
    wait_self_scrape_up(targets)
