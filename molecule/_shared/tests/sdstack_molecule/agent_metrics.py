"""Consul's own metrics in Prometheus: every agent a target of job consul-agents (found through
the service consul-agent each agent registers on itself), and Prometheus scraping itself.

Shared by the scenarios' verifiers; each passes its own way of listing Prometheus's active
targets (plain HTTP in the cluster scenario, whatever the secure profile needs there) and the
Consul node names it expects, read from Consul's catalog so client agents count too.
"""

from urllib.parse import parse_qs, urlsplit

from sdstack_molecule.polling import wait_for

AGENT_JOB = "consul-agents"
METRICS_PATH = "/v1/agent/metrics"
# A gauge every agent reports; with disable_hostname off it would be consul_<host>_runtime_...
AGENT_GAUGE = "consul_runtime_num_goroutines"


def agent_targets(targets):
    """node label -> active target of job consul-agents."""
    return {t["labels"].get("node"): t for t in targets if t["labels"].get("job") == AGENT_JOB}


def _summary(got):
    return {node: (t["health"], t.get("lastError", "")) for node, t in got.items()}


def wait_every_agent_up(list_targets, nodes, timeout=120):
    """Wait until each of ``nodes`` is an up target of job consul-agents; its targets by node."""
    want = set(nodes)
    assert want, "no Consul node to expect"
    seen = {}

    def probe():
        # The latest listing only: a target that was up and then vanished does not count.
        seen.clear()
        seen.update(agent_targets(list_targets()))
        return want <= {node for node, t in seen.items() if t["health"] == "up"}

    try:
        wait_for(probe, timeout, "every agent up in job %s" % AGENT_JOB, interval=2)
    except AssertionError:
        raise AssertionError("job %s: want every node of %s up; missing %s; have %s"
                             % (AGENT_JOB, sorted(want), sorted(want - set(seen)), _summary(seen))) from None
    return {node: seen[node] for node in want}


def assert_scraped_from_the_metrics_endpoint(targets, scheme):
    """Each target is scraped at /v1/agent/metrics?format=prometheus over ``scheme``."""
    for node, t in targets.items():
        url = urlsplit(t["scrapeUrl"])
        assert (url.scheme, url.path, parse_qs(url.query)) == (scheme, METRICS_PATH, {"format": ["prometheus"]}), \
            (node, t["scrapeUrl"])


def wait_self_scrape_up(list_targets, timeout=90):
    """Job prometheus: one static target, the server's own /metrics, up."""
    def probe():
        own = [t for t in list_targets() if t["labels"].get("job") == "prometheus"]
        return own if len(own) == 1 and own[0]["health"] == "up" else None
    own = wait_for(probe, timeout, "job prometheus (the server's own metrics) up", interval=2)[0]
    assert urlsplit(own["scrapeUrl"]).path.endswith("/metrics"), own["scrapeUrl"]
    return own


def wait_agent_gauge_per_node(query, nodes, timeout=120):
    """Consul's own series reach Prometheus, named without host names, one per node.

    ``query(promql)`` returns the API's result list.
    """
    promql = '%s{job="%s"}' % (AGENT_GAUGE, AGENT_JOB)

    def probe():
        return {r["metric"].get("node") for r in query(promql)} >= set(nodes)
    wait_for(probe, timeout, "%s for every node of %s" % (promql, sorted(nodes)), interval=2)
