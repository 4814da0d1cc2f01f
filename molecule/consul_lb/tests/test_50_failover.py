"""With ip_hash a client sticks to one server; when that server dies nginx moves the client to
another. With every server down the client sees nginx's 502 (nginx's own error, not a 404 page).
Runs last: it stops servers."""

import re
import time

import pytest

from lb_lab import HTTP_PORTS, NODES, get
from sdstack_molecule.polling import wait_for


def tried_servers(lb, path):
    """The upstreams nginx tried for the last request for path, in order (from the access log)."""
    line = lb.check_output("grep 'GET %s ' /var/log/nginx/consul_lb.access.log | tail -1" % path)
    return re.search(r"upstream=(.+?) upstream_status=", line).group(1).split(", ")


def leader_via_nginx():
    r = get("/v1/status/leader")
    return r.status_code == 200 and r.json()


@pytest.fixture
def restart_all(lb, blocking_query):
    # After the blocking query: stopping its server would retry it elsewhere and skew its timing.
    blocking_query.join(150)
    yield
    lb.check_output(" ".join("systemctl start --no-block consul@%s;" % n for n in NODES))
    wait_for(leader_via_nginx, 60, "a leader through nginx after restarting the servers")


def test_failover_then_cluster_down_is_502(lb, restart_all):
    assert get("/v1/agent/self?f=1").status_code == 200
    [first] = tried_servers(lb, "/v1/agent/self?f=1")
    victim = next(n for n, p in HTTP_PORTS.items() if first.endswith(":%d" % p))
    lb.check_output("systemctl stop consul@%s" % victim)

    t0 = time.monotonic()
    r = get("/v1/agent/self?f=2")
    assert r.status_code == 200
    assert r.json()["Config"]["NodeName"] != victim
    assert time.monotonic() - t0 < 5
    # nginx tried the pinned server first, then another one.
    tried = tried_servers(lb, "/v1/agent/self?f=2")
    assert tried[0] == first and len(tried) == 2 and tried[1] != first, tried

    lb.check_output(" ".join("systemctl stop consul@%s;" % n for n in NODES))
    down = get("/v1/status/leader")
    assert down.status_code == 502, down.status_code
    assert "Access-Control-Allow-Origin" not in down.headers
