"""What the load balancer tests share: addresses, reruns of the LB play with other variables,
and a snapshot of what a rejected run must not change."""

from pathlib import Path

import requests
from sdstack_molecule.playbook_run import converge, recap, run_playbook

HERE = Path(__file__).resolve().parent
LB = "http://10.89.20.51"
SITE = "/etc/nginx/conf.d/consul_lb.conf"
NODES = ["node1", "node2", "node3"]
HTTP_PORTS = {"node1": 8500, "node2": 8510, "node3": 8520}
LEADERS = {"10.89.20.51:8300", "10.89.20.51:8310", "10.89.20.51:8320"}


def run_lb(extra, *args):
    """Run the LB play alone (Consul untouched); return (rc, output)."""
    return run_playbook(HERE.parent / "lb.yml", extra, *args, timeout=300)


def converge_lb(extra, *args):
    """Run the LB play alone, expected to succeed; return its output."""
    return converge(HERE.parent / "lb.yml", extra, *args, timeout=300)


def lb1_recap(out):
    return recap(out).get("lb1", {})


def nginx_state(host):
    """Bytes of nginx's configuration tree, its links and folders, the master's PID and its workers' PIDs
    (a reload replaces the workers, a restart the master too)."""
    out = host.check_output(
        "cd /etc/nginx && find . \\( -type f -o -type l \\) -exec sha256sum {} + | sort -k2; ls -l sites-enabled;"
        " find . -type d -printf '%p %m\\n' | sort;"
        " m=$(systemctl show -p MainPID --value nginx); echo master=$m; echo workers=$(pgrep -P $m | sort -n)")
    lines = out.splitlines()
    return dict(files="\n".join(lines[:-2]), master=lines[-2], workers=lines[-1])


def get(path, **kw):
    kw.setdefault("timeout", 10)
    kw.setdefault("allow_redirects", False)
    return requests.get(LB + path, **kw)


def consul_answers(**kw):
    """Two answers through nginx that only Consul gives (a leader's RPC address; the empty 404 of a
    missing key, with Consul's index header), so that a check of what is absent from their headers
    cannot pass on an nginx error page."""
    leader = get("/v1/status/leader", **kw)
    assert leader.status_code == 200 and leader.json() in LEADERS, (leader.status_code, leader.text[:200])
    missing = get("/v1/kv/consul-lb-test/missing", **kw)
    assert missing.status_code == 404 and missing.text == "" and "X-Consul-Index" in missing.headers, \
        (missing.status_code, dict(missing.headers), missing.text[:200])
    return [leader, missing]
