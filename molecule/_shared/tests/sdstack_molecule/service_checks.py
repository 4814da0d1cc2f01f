"""Reads of a service registered on a Consul agent, for exporter verifiers. python-consul2 is the
independent client (it does not go through the collection's own HTTP code)."""

import time

import consul


def agent_service(address, service_id, port=8500):
    """The service as the owning agent stores it (/v1/agent/services)."""
    return consul.Consul(host=address, port=port, timeout=10).agent.services()[service_id]


def wait_for_passing(address, service, service_id, port=8500, timeout=30, node=None):
    """Poll the service's health until its one check passes or ``timeout`` runs out; returns the
    service's checks as last seen (the caller asserts on them). ``node`` keeps only that node's
    instance, for services every host registers under the same ID."""
    c = consul.Consul(host=address, port=port, timeout=10)
    deadline = time.monotonic() + timeout
    while True:
        _index, nodes = c.health.service(service)
        checks = [chk for n in nodes if node in (None, n["Node"]["Node"])
                  for chk in n["Checks"] if chk["ServiceID"] == service_id]
        if [chk["Status"] for chk in checks] == ["passing"] or time.monotonic() > deadline:
            return checks
        time.sleep(0.5)


def unit_properties(host, unit, *names):
    """``systemctl show`` properties of a unit on a testinfra host, as a dict."""
    out = host.check_output("systemctl show %s %s" % (unit, " ".join("-p " + n for n in names)))
    return dict(line.split("=", 1) for line in out.splitlines())
