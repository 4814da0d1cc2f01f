"""nginx from the distribution in front of the seed's three Consul servers: every server is
reachable through it, the UI works, status codes pass through, no CORS by default."""

import re
from collections import Counter

import consul
import requests

from lb_lab import HTTP_PORTS, LB, LEADERS, NODES, SITE, consul_answers, get


def test_distro_nginx_running_with_our_site(lb):
    assert lb.package("nginx").is_installed
    svc = lb.service("nginx")
    assert svc.is_enabled and svc.is_running
    # The distribution's unit, not a replacement.
    assert lb.check_output("systemctl show -p FragmentPath --value nginx") == "/lib/systemd/system/nginx.service"
    site = lb.file(SITE)
    assert (site.user, site.group, site.mode) == ("root", "root", 0o644)
    # Its default site claimed port 80 as default_server too: unlinked, still available.
    assert not lb.file("/etc/nginx/sites-enabled/default").exists
    assert lb.file("/etc/nginx/sites-available/default").is_file
    assert lb.run("nginx -t -q").rc == 0
    # No backup of an earlier site left where nginx might read it.
    assert lb.check_output("ls /etc/nginx/conf.d") == "consul_lb.conf"


def test_site_keeps_status_codes_and_outlasts_blocking_queries(lb):
    conf = lb.file(SITE).content_string
    directives = [line.strip() for line in conf.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert not [d for d in directives if d.startswith(("error_page", "proxy_intercept_errors"))]
    read = re.search(r"proxy_read_timeout (\d+)s;", conf)
    # Consul caps ?wait= at 10 min plus wait/16 of jitter.
    assert read and int(read.group(1)) > 600 * 17 / 16
    assert re.search(r"upstream consul_lb_servers \{\s+ip_hash;", conf)
    assert "proxy_next_upstream error timeout invalid_header http_502 http_504;" in conf


def test_upstream_is_every_server_instance_of_the_group(lb):
    conf = lb.file(SITE).content_string
    servers = re.findall(r"^\s*server (\S+);", conf, re.M)
    assert servers == ["10.89.20.51:8500", "10.89.20.51:8510", "10.89.20.51:8520"]


def test_api_through_nginx():
    leader = get("/v1/status/leader")
    assert leader.status_code == 200
    assert leader.json() in LEADERS
    nodes = get("/v1/catalog/nodes")
    assert nodes.status_code == 200
    assert sorted(n["Node"] for n in nodes.json()) == NODES


def test_ip_hash_pins_clients_and_spreads_them_over_all_three(lb):
    """Clients from 30 different /24s (loopback source addresses on the LB host) reach all three
    servers, and each client always the same one."""
    script = """
import http.client, json
for n in range(1, 31):
    for _ in range(2):
        c = http.client.HTTPConnection("127.0.0.1", 80, timeout=10, source_address=("127.%d.0.1" % n, 0))
        c.request("GET", "/v1/agent/self")
        print(n, json.loads(c.getresponse().read())["Config"]["NodeName"])
        c.close()
"""
    rows = [line.split() for line in lb.check_output("python3 -c %s", script).splitlines()]
    assert len(rows) == 60
    per_client = {}
    for client, node in rows:
        per_client.setdefault(client, set()).add(node)
    assert all(len(v) == 1 for v in per_client.values()), per_client
    assert set(Counter(node for _c, node in rows)) == set(NODES)


def test_access_log_names_the_answering_server(lb):
    get("/v1/status/peers")
    lines = lb.check_output("grep 'GET /v1/status/peers' /var/log/nginx/consul_lb.access.log").splitlines()
    assert re.search(r" 200 .*upstream=10\.89\.20\.51:85[012]0 upstream_status=200 ", lines[-1]), lines[-1]


def test_ui_through_nginx():
    redirect = get("/ui")
    # Consul's own redirect to /ui/, relative, so it stays on the load balancer.
    assert redirect.status_code == 301 and redirect.headers["Location"] == "/ui/"
    page = get("/ui", allow_redirects=True)
    assert page.status_code == 200 and page.url == LB + "/ui/"
    assert "<title>Consul by HashiCorp</title>" in page.text and "consul-ui/config/environment" in page.text
    assert get("/", allow_redirects=True).url == LB + "/ui/"


def test_consul_status_codes_pass_through():
    missing = get("/v1/kv/consul-lb-test/missing")
    assert missing.status_code == 404 and missing.text == ""  # Consul's empty 404, not an nginx page
    bad = get("/v1/catalog/service/x?index=abc")
    assert bad.status_code == 400 and "nginx" not in bad.text
    assert get("/v1/no-such-endpoint").status_code == 404


def test_no_cors_header_by_default():
    for r in consul_answers(headers={"Origin": "http://evil.example"}):
        assert "Access-Control-Allow-Origin" not in r.headers, (r.url, r.headers)


def test_writes_through_the_load_balancer_reach_every_server():
    requests.delete(LB + "/v1/kv/consul-lb-test/w", timeout=10)
    assert requests.put(LB + "/v1/kv/consul-lb-test/w", data="x", timeout=10).json() is True
    for node, port in HTTP_PORTS.items():
        _index, entry = consul.Consul(host="10.89.20.51", port=port, consistency="consistent").kv.get("consul-lb-test/w")
        assert entry and entry["Value"] == b"x", node
