"""Client agents (consul_clients): every host that is not a server runs one, it is a live client
member of the cluster, the exporters of its host register on it and Prometheus scrapes them, and
a restarted client comes back with its services. Independent clients only: python-consul2,
Prometheus's and nginx's HTTP APIs through `requests`, systemd and the consul CLI on the host."""

import json
import re
from datetime import datetime

import consul
import testinfra

from sdstack_molecule.pipeline_checks import ADDRESS, EXPORTERS, HTTP, RUNNER
from sdstack_molecule.polling import wait_for

CLIENTS = RUNNER.get_hosts("consul_clients")
SERVERS = RUNNER.get_hosts("consul_servers")
testinfra_hosts = CLIENTS
PROMETHEUS = "http://%s:9090" % ADDRESS[RUNNER.get_hosts("prometheus")[0]]
LB = "http://%s:80" % ADDRESS[RUNNER.get_hosts("consul_lb")[0]]
# The restart test's victim: an application host with both exporters.
VICTIM = next(h for h in CLIENTS if h in RUNNER.get_hosts("cadvisor") and h in RUNNER.get_hosts("node_exporter"))


def node(name):
    return name.split(".")[0]


def exporters_of(h):
    return {g: e for g, e in EXPORTERS.items() if h in RUNNER.get_hosts(g)}


def agent(h):
    return consul.Consul(host=ADDRESS[h], port=8500, timeout=10)


def members_seen_from(h):
    """(name -> (status, role)) of the LAN members h's agent sees; role "node" is a client."""
    return {m["Name"]: (m["Status"], m["Tags"].get("role")) for m in agent(h).agent.members()}


def active_targets():
    data = HTTP.get(PROMETHEUS + "/api/v1/targets", params={"state": "active"}, timeout=5).json()
    return {(t["labels"]["job"], t["scrapeUrl"]): t for t in data["data"]["activeTargets"]}


def targets_of(h):
    return {(e["job"], "http://%s:%d/metrics" % (ADDRESS[h], e["port"])) for e in exporters_of(h).values()}


def test_the_lab_has_application_hosts_with_both_exporters():
    # Guards the checks below: without an application host they would check nothing.
    apps = [h for h in CLIENTS if set(exporters_of(h)) == set(EXPORTERS)]
    assert len(apps) >= 2 and not set(CLIENTS) & set(SERVERS), (CLIENTS, SERVERS)


def test_client_unit_running_hardened_and_configured_as_client(host):
    name = node(host.backend.get_hostname())
    svc = host.service("consul@%s" % name)
    assert svc.is_enabled and svc.is_running
    props = host.check_output("systemctl show consul@%s -p Type -p NoNewPrivileges -p ProtectSystem -p ReadWritePaths"
                              % name)
    got = dict(line.split("=", 1) for line in props.splitlines())
    assert got == {"Type": "notify", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
                   "ReadWritePaths": "/opt/consul/%s" % name}, got
    conf = json.loads(host.file("/etc/consul.d/%s/consul.json" % name).content_string)
    assert conf["server"] is False and "bootstrap_expect" not in conf and "autopilot" not in conf
    assert conf["retry_join"] == ["%s:8301" % ADDRESS[s] for s in SERVERS]
    assert conf["bind_addr"] == ADDRESS[host.backend.get_hostname()]


def test_client_is_alive_as_client_in_consul_members(host):
    me = node(host.backend.get_hostname())
    out = host.check_output("consul members -http-addr=http://127.0.0.1:8500")
    rows = {r[0]: (r[2], r[3]) for r in (line.split() for line in out.splitlines()[1:])}
    assert rows[me] == ("alive", "client"), rows
    assert all(rows.get(node(s)) == ("alive", "server") for s in SERVERS), rows
    # The servers see it too (status 1: alive; role "node": a client agent).
    assert members_seen_from(SERVERS[0]).get(me) == (1, "node")


def test_client_exporters_registered_on_their_own_agent():
    for h in CLIENTS:
        services = agent(h).agent.services()
        want = {e["service"] for e in exporters_of(h).values()}
        assert want <= set(services), (h, sorted(services))
        for sid in want:
            assert services[sid]["Address"] == ADDRESS[h], services[sid]
        # The catalog (through nginx) places them on this client's node, not on a server's.
        for sid in want:
            nodes = HTTP.get(LB + "/v1/catalog/service/" + sid, timeout=5).json()
            assert node(h) in {n["Node"] for n in nodes}, (h, sid, nodes)


def test_client_exporters_are_up_prometheus_targets():
    want = set().union(*(targets_of(h) for h in CLIENTS))
    assert want

    def probe():
        got = active_targets()
        return all(k in got and got[k]["health"] == "up" for k in want) and got
    wait_for(probe, 120, "every client's exporter an up target of its job")


def _prometheus_now():
    data = HTTP.get(PROMETHEUS + "/api/v1/query", params={"query": "time()"}, timeout=5).json()
    return float(data["data"]["result"][0])


def _epoch(rfc3339):
    # Prometheus prints nanoseconds; Python reads microseconds.
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", rfc3339).replace("Z", "+00:00")).timestamp()


def test_restarted_client_comes_back_with_its_services_as_targets():
    h = testinfra.get_host("podman://" + VICTIM)
    name = node(VICTIM)
    before = h.check_output("systemctl show -p MainPID --value consul@%s" % name)
    restarted_at = _prometheus_now()
    h.run_expect([0], "systemctl restart consul@%s" % name)
    after = h.check_output("systemctl show -p MainPID --value consul@%s" % name)
    assert after != before and after != "0", (before, after)

    wait_for(lambda: members_seen_from(SERVERS[0]).get(name) == (1, "node"), 60,
             "%s alive again as a client in the servers' view" % name)
    want_services = {e["service"] for e in exporters_of(VICTIM).values()}
    wait_for(lambda: want_services <= set(agent(VICTIM).agent.services()), 60,
             "the exporters registered on the restarted agent again")

    def checks_pass():
        checks = agent(VICTIM).agent.checks()
        st = {c["ServiceID"]: c["Status"] for c in checks.values() if c["ServiceID"] in want_services}
        return set(st) == want_services and set(st.values()) == {"passing"} and st
    wait_for(checks_pass, 90, "the exporters' checks passing on the restarted agent")

    want = targets_of(VICTIM)

    def scraped_since_restart():
        got = active_targets()
        return all(k in got and got[k]["health"] == "up" and _epoch(got[k]["lastScrape"]) > restarted_at
                   for k in want) and got
    wait_for(scraped_since_restart, 120, "%s's exporters up targets, scraped after the restart" % name)
