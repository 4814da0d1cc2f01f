"""Consul's own metrics: every agent of the cluster is an up target of job consul-agents, found
through Consul, labelled by its node, and Prometheus scrapes itself. Prometheus's HTTP API and
Consul's (python-consul2) are the independent clients."""

import consul
from sdstack_molecule.agent_metrics import (
    assert_scraped_from_the_metrics_endpoint, wait_agent_gauge_per_node, wait_every_agent_up, wait_self_scrape_up)
from sdstack_molecule.pipeline_checks import ADDRESS, HTTP, RUNNER, testinfra_hosts  # noqa: F401  pylint: disable=unused-import
from sdstack_molecule.polling import wait_for

SERVERS = RUNNER.get_hosts("consul_servers")


def _prometheus(host):
    return "http://%s:9090" % ADDRESS[host.backend.get_hostname()]


def _targets(base):
    return lambda: HTTP.get(base + "/api/v1/targets", params={"state": "active"},
                            timeout=5).json()["data"]["activeTargets"]


def _catalog():
    return consul.Consul(host=ADDRESS[SERVERS[0]], port=8500, timeout=10).catalog


def nodes():
    """Every Consul node (servers and any client agents), from the catalog."""
    names = sorted(n["Node"] for n in _catalog().nodes()[1])
    assert len(names) >= len(SERVERS), names
    return names


def test_every_agent_registers_itself_as_consul_agent():
    want = nodes()

    def registered():
        found = _catalog().service("consul-agent")[1]
        return found if sorted(s["Node"] for s in found) == want else None
    found = wait_for(registered, 30, "one consul-agent service per node of %s" % want)
    for s in found:
        assert s["ServiceMeta"].get("node") == s["Node"] and s["ServicePort"] > 0, s


def test_every_agent_is_an_up_target_labelled_by_its_node(host):
    base, want = _prometheus(host), nodes()
    got = wait_every_agent_up(_targets(base), want)
    assert_scraped_from_the_metrics_endpoint(got, "http")
    # Consul's own series, named without the host (telemetry.disable_hostname), for every node.
    wait_agent_gauge_per_node(
        lambda q: HTTP.get(base + "/api/v1/query", params={"query": q}, timeout=5).json()["data"]["result"], want)


def test_prometheus_scrapes_itself(host):
    wait_self_scrape_up(_targets(_prometheus(host)))
