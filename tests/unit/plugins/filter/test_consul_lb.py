import base64
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.consul_lb import (
    FilterModule, consul_lb_listens_on, consul_lb_nginx_error, consul_lb_site, consul_lb_site_files)

ROOT = Path(__file__).resolve().parents[4]
ROLE = ROOT / "roles" / "consul_lb"
GOLDEN = ROOT / "tests" / "unit" / "fixtures" / "golden"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
SEED_INSTANCES = yaml.safe_load((ROOT / "inventories" / "seed" / "group_vars" / "consul_servers.yml").read_text())
FILES_DIR = "/etc/nginx/consul_lb"
# The seed scenario's host (molecule/seed: host_vars and the seed inventory's group_vars).
SEED_HOSTVARS = {"consul-seed": dict(SEED_INSTANCES, consul_advertise_address="10.89.20.31")}


def settings(**more):
    return dict(DEFAULTS, **{"consul_lb_" + k: v for k, v in more.items()})


def seed_site(**more):
    return consul_lb_site(settings(**more), SEED_HOSTVARS, ["consul-seed"])


def stats(site, checksums=None):
    """What the role's controller-side stat loop registers for the site's files."""
    checksums = checksums or {}
    return [{"item": src, "stat": {"exists": True, "checksum": checksums.get(src["name"], src["name"] * 8)}}
            for src in site["file_sources"]]


def render(site):
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    template = env.from_string((ROLE / "templates" / "consul_lb.conf.j2").read_text())
    return template.render(ansible_managed="Ansible managed", _consul_lb_model=site)


def error(**more):
    with pytest.raises(AnsibleFilterError) as e:
        seed_site(**more)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_seed_renders_the_golden_site():
    site = consul_lb_site_files(seed_site(), [], FILES_DIR)
    assert render(site) == (GOLDEN / "seed" / "consul_lb.conf").read_text()


def test_secure_renders_the_golden_site():
    # molecule/secure: group_vars/all/secure.yml, and site.yml's certificate from the cluster's CA.
    # The checksums are the lab run's files' (their names in the golden site).
    hostvars = {"secure1": dict(SEED_INSTANCES, consul_advertise_address="10.89.20.71")}
    site = consul_lb_site(settings(upstream_scheme="https", upstream_ca_src="/secrets/tls/ca.pem",
                                   upstream_tls_server_name="server.dc1.consul", tls=True,
                                   tls_cert_src="/secrets/tls/certs/lb-secure1.pem",
                                   tls_key_src="/secrets/tls/certs/lb-secure1-key.pem"), hostvars, ["secure1"])
    checksums = {"front-cert": "fca41c0f85a2dde1" + "0" * 48, "front-key": "94b49e1d1aed7e21" + "0" * 48,
                 "upstream-ca": "9a10d2fd61e9bdf8" + "0" * 48}
    site = consul_lb_site_files(site, stats(site, checksums), FILES_DIR)
    assert render(site) == (GOLDEN / "secure" / "consul_lb.conf").read_text()


def test_cluster_renders_the_golden_site():
    # molecule/cluster: one server per host (default name and ports), nginx on the monitor host.
    hostvars = {"consul%d" % n: {"consul_advertise_address": "10.89.20.2%d" % n} for n in (1, 2, 3)}
    site = consul_lb_site_files(consul_lb_site(settings(), hostvars, sorted(hostvars)), [], FILES_DIR)
    assert render(site) == (GOLDEN / "cluster" / "consul_lb.conf").read_text()


def test_consul_lb_scenario_renders_the_golden_site():
    # molecule/consul_lb: the seed's three instances on lb1.
    hostvars = {"lb1": dict(SEED_INSTANCES, consul_advertise_address="10.89.20.51")}
    site = consul_lb_site_files(consul_lb_site(settings(), hostvars, ["lb1"]), [], FILES_DIR)
    assert render(site) == (GOLDEN / "consul_lb" / "consul_lb.conf").read_text()


def test_seed_model():
    site = seed_site()
    assert site["upstreams"] == ["10.89.20.31:8500", "10.89.20.31:8510", "10.89.20.31:8520"]
    assert site["listen"] == "80" and [x["port"] for x in site["listeners"]] == [80] and site["tls_listen"] is None
    assert site["redirect_to"] is None and site["file_sources"] == [] and site["headers"] == []
    assert site["next_upstream"] == "error timeout invalid_header http_502 http_504"


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"consul_lb_site", "consul_lb_site_files", "consul_lb_listens_on",
                                             "consul_lb_nginx_error"}


def test_group_ports_from_the_consul_hosts_inventory():
    hostvars = {"a": {"ansible_host": "10.0.0.1", "consul_ports": {"http": 8501}},
                "b": {"ansible_host": "10.0.0.2", "consul_ports": {"http": 8502}},
                "c": {"ansible_host": "10.0.0.3"}}
    site = consul_lb_site(settings(), hostvars, ["a", "b", "c"])
    assert site["upstreams"] == ["10.0.0.1:8501", "10.0.0.2:8502", "10.0.0.3:8500"]
    same = {h: dict(v, consul_ports={"http": 8700}) for h, v in hostvars.items()}
    assert consul_lb_site(settings(), same, ["a", "b"])["upstreams"] == ["10.0.0.1:8700", "10.0.0.2:8700"]


def test_disabled_http_ports_are_skipped():
    hostvars = {"a": {"ansible_host": "10.0.0.1", "consul_instances": [
        {"name": "x", "ports": {"http": -1}},
        {"name": "y", "ports": {"http": 8510, "dns": 8610, "server": 8310, "serf_lan": 8311, "serf_wan": 8312}}]}}
    assert consul_lb_site(settings(), hostvars, ["a"])["upstreams"] == ["10.0.0.1:8510"]


def test_listen_address_and_tls_redirect():
    site = seed_site(listen_address="fd00::1", tls=True, tls_cert_src="c.pem", tls_key_src="k.pem", tls_port=8443)
    assert site["listen"] == "[fd00::1]:80" and site["tls_listen"] == "[fd00::1]:8443"
    assert site["listeners"] == [{"port": 80, "address": "fd00::1", "user": "nginx (consul_lb_listen_port)"},
                                 {"port": 8443, "address": "fd00::1", "user": "nginx (consul_lb_tls_port)"}]
    assert site["redirect_to"] == "https://$host:8443$request_uri"
    assert seed_site(tls=True, tls_cert_src="c", tls_key_src="k")["redirect_to"] == "https://$host$request_uri"
    assert seed_site(listen_address="10.0.0.5")["listen"] == "10.0.0.5:80"
    assert seed_site(tls=True, tls_cert_src="c", tls_key_src="k", tls_redirect_http=False)["redirect_to"] is None


def test_strings_from_the_command_line_are_read_as_their_types():
    site = seed_site(listen_port="8080", ip_hash="yes", upstream_keepalive="0", proxy_buffering="on",
                     default_server="no")
    assert (site["listen"], site["ip_hash"], site["keepalive"], site["buffering"], site["default_server"]) == (
        "8080", True, 0, "on", False)
    text = render(consul_lb_site_files(site, [], FILES_DIR))
    assert "keepalive" not in text and "listen 8080;" in text


def test_files_are_named_after_their_content():
    site = seed_site(upstream_scheme="https", upstream_ca_src="ca.pem", upstream_client_cert_src="cc.pem",
                     upstream_client_key_src="ck.pem", tls=True, tls_cert_src="c.pem", tls_key_src="k.pem")
    assert [(f["name"], f["var"], f["secret"]) for f in site["file_sources"]] == [
        ("upstream-ca", "consul_lb_upstream_ca_src", False),
        ("upstream-client-cert", "consul_lb_upstream_client_cert_src", False),
        ("upstream-client-key", "consul_lb_upstream_client_key_src", True),
        ("front-cert", "consul_lb_tls_cert_src", False),
        ("front-key", "consul_lb_tls_key_src", True)]
    named = consul_lb_site_files(site, stats(site, {"front-key": "0123456789abcdef" + "f" * 48}), FILES_DIR + "/")
    assert named["files"]["front-key"] == "/etc/nginx/consul_lb/front-key-0123456789abcdef.pem"
    assert [i["dest"] for i in named["installs"]] == list(named["files"].values())
    text = render(named)
    for line in ("listen 443 ssl default_server;", "return 301 https://$host$request_uri;",
                 "ssl_certificate_key /etc/nginx/consul_lb/front-key-0123456789abcdef.pem;",
                 "proxy_pass https://consul_lb_servers;", "proxy_ssl_name server.dc1.consul;",
                 "proxy_ssl_certificate /etc/nginx/consul_lb/upstream-client-cert-upstream-client-.pem;"):
        assert line in text
    # Without a client certificate, nginx shows none to the servers.
    plain = seed_site(upstream_scheme="https", upstream_ca_src="ca.pem")
    assert "proxy_ssl_certificate " not in render(consul_lb_site_files(plain, stats(plain), FILES_DIR))


def test_a_file_without_checksum_is_refused():
    site = seed_site(tls=True, tls_cert_src="c.pem", tls_key_src="k.pem")
    results = stats(site)
    results[1]["stat"] = {"exists": False}
    with pytest.raises(AnsibleFilterError, match="^consul_lb_tls_key_src: 'k.pem' is not a readable file on the"):
        consul_lb_site_files(site, results, FILES_DIR)


def test_headers_cors_first_and_rendered_always():
    site = seed_site(cors_allow_origin="https://ops.example.com",
                     response_headers={"X-Content-Type-Options": "nosniff"})
    assert site["headers"] == [("Access-Control-Allow-Origin", "https://ops.example.com"),
                               ("X-Content-Type-Options", "nosniff")]
    text = render(consul_lb_site_files(site, [], FILES_DIR))
    assert ('    add_header Access-Control-Allow-Origin "https://ops.example.com" always;\n'
            '    add_header X-Content-Type-Options "nosniff" always;\n') in text


def test_extra_directives_and_empty_next_upstream():
    site = seed_site(extra_directives=["client_max_body_size 1m;"], proxy_next_upstream=[], ip_hash=False)
    text = render(consul_lb_site_files(site, [], FILES_DIR))
    assert "    client_max_body_size 1m;\n}\n" in text and "proxy_next_upstream off;" in text and "ip_hash" not in text


# Every message the role's bad-input suite (molecule/consul_lb/tests/test_20_bad_input.py) and
# docs/bad-input.md quote, word for word.
@pytest.mark.parametrize("more,message", [
    ({"upstream_servers": ["10.89.20.51"]},
     "consul_lb_upstream_servers: '10.89.20.51' is not host:port with a port in 1-65535"),
    ({"upstream_servers": ["10.0.0.1:0"]}, "consul_lb_upstream_servers: '10.0.0.1:0' is not host:port"),
    ({"upstream_servers": ["10.0.0.1:65536"]}, "consul_lb_upstream_servers: '10.0.0.1:65536' is not host:port"),
    ({"upstream_servers": ["10.0.0.1:80\n"]}, "consul_lb_upstream_servers: '10.0.0.1:80\\n' is not host:port"),
    ({"server_name": "a\r\nb"}, "consul_lb_server_name: 'a\\r\\nb' must be"),
    ({"upstream_servers": [8500]}, "consul_lb_upstream_servers: '8500' is not host:port"),
    ({"upstream_servers": "10.0.0.1:80"}, "consul_lb_upstream_servers must be a list of host:port"),
    ({"proxy_read_timeout": "abc"},
     "consul_lb_proxy_read_timeout: 'abc' is not an nginx time (e.g. 660s, 11m, 1m30s, 500ms)"),
    ({"proxy_connect_timeout": 5}, "consul_lb_proxy_connect_timeout: '5' is not an nginx time"),
    ({"proxy_send_timeout": "1m 30s"}, "consul_lb_proxy_send_timeout: '1m 30s' is not an nginx time"),
    ({"listen_port": 70000}, "consul_lb_listen_port: 70000 is not a port number (1-65535)"),
    ({"listen_port": 0}, "consul_lb_listen_port: 0 is not a port number (1-65535)"),
    ({"listen_port": "http"}, "consul_lb_listen_port: http is not a port number (1-65535)"),
    ({"upstream_keepalive": -1}, "consul_lb_upstream_keepalive: -1 must be 0 (off) or more"),
    ({"server_name": "a;b"}, "consul_lb_server_name: 'a;b' must be non-empty, without quotes, backslashes, ';',"
                             " braces, '#' or line breaks (and without spaces, except in server_name)"),
    ({"server_name": ""}, "consul_lb_server_name: '' must be non-empty"),
    ({"access_log": "/var/log/a b"}, "consul_lb_access_log: '/var/log/a b' must be non-empty"),
    ({"error_log": "x{"}, "consul_lb_error_log: 'x{' must be"),
    ({"config_path": "x#"}, "consul_lb_config_path: 'x#' must be"),
    ({"listen_address": "1.2.3.4;"}, "consul_lb_listen_address: '1.2.3.4;' must be"),
    ({"upstream_tls_server_name": "a'b"}, "consul_lb_upstream_tls_server_name: 'a'b' must be"),
    ({"cors_allow_origin": '*" always; include /etc/passwd; #'},
     "consul_lb_cors_allow_origin: '*\" always; include /etc/passwd; #' must not contain double quotes"),
    ({"response_headers": {"X-A": "a\\b"}},
     "consul_lb_response_headers value of X-A: 'a\\b' must not contain double quotes, backslashes or line breaks"),
    ({"response_headers": {"X A": "b"}}, "consul_lb_response_headers: 'X A' is not an HTTP header name"),
    ({"response_headers": ["X-A"]}, "consul_lb_response_headers must be a dict"),
    ({"upstream_scheme": "ftp"}, "consul_lb_upstream_scheme: 'ftp' must be http or https"),
    ({"tls": True, "tls_port": 80, "tls_cert_src": "c", "tls_key_src": "k"},
     "consul_lb_tls_port: 80 is not a port number (1-65535) other than consul_lb_listen_port (80)"),
    ({"tls": True, "tls_port": 0, "tls_cert_src": "c", "tls_key_src": "k"},
     "consul_lb_tls_port: 0 is not a port number (1-65535) other than consul_lb_listen_port (80)"),
    ({"upstream_scheme": "https"},
     "consul_lb_upstream_ca_src is required when consul_lb_upstream_scheme is https (the CA that signed the Consul"
     " servers' certificates)"),
    ({"upstream_scheme": "https", "upstream_ca_src": "ca", "upstream_client_cert_src": "cc"},
     "consul_lb_upstream_client_cert_src and consul_lb_upstream_client_key_src go together, but only "
     "consul_lb_upstream_client_cert_src is set"),
    ({"upstream_scheme": "https", "upstream_ca_src": "ca", "upstream_client_key_src": "ck"},
     "but only consul_lb_upstream_client_key_src is set"),
    ({"tls": True, "tls_cert_src": "c"}, "consul_lb_tls_key_src is required when consul_lb_tls is true"),
    ({"tls": True, "tls_key_src": "k"}, "consul_lb_tls_cert_src is required when consul_lb_tls is true"),
    ({"tls": True}, "consul_lb_tls_cert_src and consul_lb_tls_key_src are required when consul_lb_tls is true"),
    ({"tls": "maybe"}, "consul_lb_tls must be true or false, got 'maybe'"),
    ({"tls": True, "tls_cert_src": "c", "tls_key_src": "k", "cors_allow_origin": "*"},
     "consul_lb_cors_allow_origin: '*' is refused with TLS on (consul_lb_tls or consul_lb_upstream_scheme https): any"
     " web page a user opens could use the API with the rights of requests without a token and read it; give the"
     " exact origin (e.g. https://ops.example.com)"),
    ({"upstream_scheme": "https", "upstream_ca_src": "ca", "response_headers": {"access-control-allow-origin": " * "}},
     "consul_lb_response_headers access-control-allow-origin: '*' is refused with TLS on"),
])
def test_bad_input_is_one_line_naming_the_value(more, message):
    assert message in error(**more)


def test_wildcard_cors_is_fine_without_tls():
    assert seed_site(cors_allow_origin="*")["headers"] == [("Access-Control-Allow-Origin", "*")]


def test_good_times_and_words_pass():
    site = seed_site(proxy_read_timeout="1m30s", proxy_connect_timeout="500ms", server_name="a.example b.example")
    assert (site["read_timeout"], site["connect_timeout"], site["server_name"]) == ("1m30s", "500ms",
                                                                                    "a.example b.example")


def test_no_upstream():
    with pytest.raises(AnsibleFilterError, match=r"^no upstream for the Consul load balancer: consul_lb_upstream_servers"
                                                 r" is empty and the inventory group 'nobody' \(consul_lb_consul_group\)"
                                                 r" has no hosts$"):
        consul_lb_site(settings(upstream_servers=[], consul_group="nobody"), {}, [])


def test_no_server_serves_http():
    hostvars = {"a": {"ansible_host": "10.0.0.1", "consul_ports": {"http": -1}}}
    with pytest.raises(AnsibleFilterError, match=r"^no Consul server of group 'consul_servers' serves HTTP"):
        consul_lb_site(settings(), hostvars, ["a"])


def test_topology_errors_surface():
    hostvars = {"a": {"ansible_host": "10.0.0.1", "consul_instances": [{"name": "x"}, {"name": "y"}]}}
    with pytest.raises(AnsibleFilterError, match="is used by both"):
        consul_lb_site(settings(), hostvars, ["a"])


def test_given_servers_skip_the_group():
    site = consul_lb_site(settings(upstream_servers=["[fd00::1]:8500", "c1.example:8501"]), {}, [])
    assert site["upstreams"] == ["[fd00::1]:8500", "c1.example:8501"]


def test_missing_setting():
    with pytest.raises(AnsibleFilterError, match="consul_lb_tls not set"):
        consul_lb_site({k: v for k, v in DEFAULTS.items() if k != "consul_lb_tls"}, SEED_HOSTVARS, ["consul-seed"])


@pytest.mark.parametrize("text,port,expected", [
    ("server {\n    listen 80 default_server;\n", 80, True),
    ("server {\n\tlisten [::]:80 default_server;\n", "80", True),
    ("server {\n    listen 0.0.0.0:80;\n", 80, True),
    ("server {\n    listen 8080 default_server;\n", 80, False),
    ("server {\n    # listen 80;\n", 80, False),
    ("", 80, False),
])
def test_listens_on(text, port, expected):
    assert consul_lb_listens_on(text, port) is expected


INSTALLS = [{"name": "front-cert", "var": "consul_lb_tls_cert_src", "src": "/pki/lb.pem",
             "dest": "/etc/nginx/consul_lb/front-cert-0123456789abcdef.pem", "secret": False}]


def test_nginx_error_names_the_site_and_the_variable():
    stderr = ("2026/11/30 22:00:01 [warn] 12#12: something harmless\n"
              "2026/11/30 22:00:01 [emerg] 12#12: cannot load certificate "
              '"/etc/nginx/consul_lb/front-cert-0123456789abcdef.pem" in '
              "/root/.ansible/tmp/ansible-tmp-1.2/source:7\nnginx: configuration file test failed\n")
    assert consul_lb_nginx_error({"stderr": stderr}, "/etc/nginx/conf.d/consul_lb.conf", INSTALLS) == (
        "nginx rejected the consul_lb site, the live configuration is unchanged: nginx: [emerg] cannot load "
        'certificate "/etc/nginx/consul_lb/front-cert-0123456789abcdef.pem" in /etc/nginx/conf.d/consul_lb.conf:7'
        " (front-cert from consul_lb_tls_cert_src: /pki/lb.pem)")


def test_nginx_error_without_severity_takes_the_first_line():
    assert consul_lb_nginx_error({"stderr": "odd\nmore"}, "/x", []) == (
        "nginx rejected the consul_lb site, the live configuration is unchanged: odd")


def test_nginx_error_without_stderr():
    assert consul_lb_nginx_error({"msg": "boom"}, "/x", None) == (
        "the consul_lb site was not applied, the live configuration is unchanged: boom")
    assert consul_lb_nginx_error({}, "/x", []).endswith("unchanged: unknown error")


def test_default_site_text_is_base64_decoded_by_the_role():
    # The role feeds slurp's content through b64decode; the filter sees text.
    text = base64.b64decode(base64.b64encode(b"listen 80;")).decode()
    assert consul_lb_listens_on(text, 80)


# --- Issue 13: servers in several datacenters -----------------------------------------------------
# dc1: three servers one per VM; dc2: the seed's three servers on one host.
TWO_DCS = {
    "c1": {"ansible_host": "10.0.1.11", "consul_datacenter": "dc1"},
    "c2": {"ansible_host": "10.0.1.12", "consul_datacenter": "dc1"},
    "c3": {"ansible_host": "10.0.1.13", "consul_datacenter": "dc1"},
    "d2": dict(SEED_INSTANCES, ansible_host="10.0.2.10", consul_datacenter="dc2"),
}


def two_dc_site(host_datacenter=None, **more):
    return consul_lb_site(settings(**more), TWO_DCS, list(TWO_DCS), host_datacenter)


def test_an_nginx_forwards_to_the_servers_of_its_own_datacenter():
    assert two_dc_site("dc1")["upstreams"] == ["10.0.1.11:8500", "10.0.1.12:8500", "10.0.1.13:8500"]
    assert two_dc_site("dc2")["upstreams"] == ["10.0.2.10:8500", "10.0.2.10:8510", "10.0.2.10:8520"]


def test_consul_lb_datacenter_wins_over_the_hosts_own():
    assert two_dc_site("dc1", datacenter="dc2")["upstreams"] == [
        "10.0.2.10:8500", "10.0.2.10:8510", "10.0.2.10:8520"]


def test_several_datacenters_without_a_choice_are_refused():
    with pytest.raises(AnsibleFilterError) as e:
        two_dc_site()
    assert str(e.value) == ("consul_lb_datacenter: the servers of 'consul_servers' span several datacenters (dc1, dc2):"
                            " name the one this nginx forwards to (or set consul_datacenter of this host)")


def test_a_datacenter_without_servers_is_refused():
    with pytest.raises(AnsibleFilterError) as e:
        two_dc_site("dc1", datacenter="dc3")
    assert str(e.value) == "consul_lb_datacenter: 'dc3' has no servers in 'consul_servers' (datacenters: dc1, dc2)"


def test_one_datacenter_ignores_the_choice():
    assert seed_site(datacenter="elsewhere")["upstreams"] == seed_site()["upstreams"]
    one = {h: dict(v, consul_datacenter="dc1") for h, v in TWO_DCS.items()}
    assert len(consul_lb_site(settings(), one, list(one), "dc9")["upstreams"]) == 6
