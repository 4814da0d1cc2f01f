"""One port model per host, and proof that a reload or restart took, against the seed's real
services (playbooks/site.yml rerun with extra vars, limited by tag to the role under test).

A port two services claim, or a listen address without a port, stops the run in site.yml's
first play, before any role runs. A port that no setting claims but another program holds
passes every check and `nginx -t`; only the reload or restart cannot bind it. The roles must
see that, put the previous files back, bring the service back on them and fail with one line;
the next run without the bad value then has nothing to change."""

import shlex
from contextlib import contextmanager
from pathlib import Path

import requests
import testinfra
from sdstack_molecule.playbook_run import converge, recap, run_playbook
from sdstack_molecule.polling import wait_for
from sdstack_molecule.refusals import assert_doc_declares, assert_refused

HOST = "consul-seed"
ADDR = "10.89.20.31"
PLAYBOOK = Path(__file__).resolve().parents[1] / "converge.yml"
# Over `podman exec`: host reads and the foreign listener, without an Ansible run each.
HOST_IO = testinfra.get_host("podman://" + HOST)
HTTP = requests.Session()
HTTP.trust_env = False  # lab addresses only, never through a proxy
# No kept-alive connections: these tests reload and restart the servers behind them.
HTTP.headers["Connection"] = "close"

SITE = "/etc/nginx/conf.d/consul_lb.conf"
PROMETHEUS_FILES = "/etc/prometheus/prometheus.yml /etc/systemd/system/prometheus.service"
NODE_EXPORTER_UNIT = "/etc/systemd/system/node_exporter.service"
# The RPC addresses of the seed's three servers (inventory), as only Consul reports them.
PEERS = sorted("%s:%d" % (ADDR, port) for port in (8300, 8310, 8320))
PROMETHEUS_VERSION = "2.24.1"
# Ports no service of the seed's inventory uses; the foreign listener takes them.
NGINX_NEW_PORT = 18081
PROMETHEUS_NEW_PORT = 19090
# Shorter than the role's default, so the failed restart is given up sooner; the server cannot
# bind its port whatever the wait.
PROMETHEUS_START_TIMEOUT = 20

# Accepts each connection and closes it at once: a probe of the port fails straight away
# (no HTTP answer) instead of waiting for a timeout.
LISTENER = ("import socket, sys; s = socket.socket(); s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(16);"
            " [s.accept()[0].close() for _ in iter(int, 1)]")

# Declared exceptions to "the recap says changed=0", with the reason (docs/bad-input.md names the same).
MAY_CHANGE = {
    "nginx-reload-cannot-bind": "only the reload sees the port taken: the new site is written and nginx reloaded,"
                                " then the rescue puts the previous site back and reloads nginx on it; the site"
                                " file is as before and nginx serves it",
    "prometheus-restart-cannot-bind": "only the restart sees the port taken: the new unit and configuration are"
                                      " written and Prometheus restarted, then the rescue puts both back and"
                                      " restarts it on them; the files are as before and Prometheus is ready on"
                                      " its port",
}


def _host_state():
    """Files and processes a run stopped before any role must leave as they were: nginx's site,
    Prometheus's and node_exporter's files; each service's PID, start time and restart count,
    and nginx's workers (a reload replaces them)."""
    return HOST_IO.check_output(
        "sha256sum %s %s %s;"
        " for u in nginx prometheus node_exporter; do"
        " echo $u $(systemctl show -p MainPID -p ActiveEnterTimestamp -p NRestarts --value $u); done;"
        " echo workers $(pgrep -P $(systemctl show -p MainPID --value nginx) | sort -n)"
        % (SITE, PROMETHEUS_FILES, NODE_EXPORTER_UNIT))


def _listening(port):
    return HOST_IO.run("ss -Hltn sport = :%d" % port).stdout.strip() != ""


def _consul_through_nginx():
    """Consul's own answer through nginx on its port: the three servers' RPC addresses."""
    r = HTTP.get("http://%s:80/v1/status/peers" % ADDR, timeout=5)
    return r.status_code == 200 and sorted(r.json()) == PEERS


def _prometheus_ready():
    return HTTP.get("http://%s:9090/-/ready" % ADDR, timeout=5).status_code == 200


def _node_exporter_serves():
    r = HTTP.get("http://%s:9100/metrics" % ADDR, timeout=5)
    return r.status_code == 200 and "node_cpu_seconds_total" in r.text


def _assert_no_role_ran(out):
    assert "TASK [sdstack.consul." not in out, "a role ran after the port check failed: " + out[-3000:]


def _assert_rerun_changes_nothing(role):
    # The bad value touched only this role's files; the scenario's idempotence step reruns the rest.
    out = converge(PLAYBOOK, None, "--tags", role)
    assert recap(out)[HOST]["changed"] == 0, out[-3000:]


@contextmanager
def foreign_listener(port):
    """Another program holding ``port`` on every address of the host (a transient systemd
    unit), stopped however the test ends."""
    unit = "foreign-listener-%d" % port
    HOST_IO.run("systemctl stop %s" % unit)  # left over by an interrupted run
    assert not _listening(port), "port %d is already taken on %s" % (port, HOST)
    HOST_IO.check_output("systemd-run --unit %s --collect python3 -c %s %d" % (unit, shlex.quote(LISTENER), port))
    try:
        wait_for(lambda: _listening(port), 20, "the foreign listener on port %d" % port)
        yield
    finally:
        HOST_IO.run("systemctl stop %s" % unit)


def test_nginx_on_prometheus_port_is_refused_before_any_role():
    before = _host_state()
    rc, out = run_playbook(PLAYBOOK, {"consul_lb_listen_port": 9090})
    assert_refused(rc, out, [HOST], "port 9090 on consul-seed is used by both ", "nginx (consul_lb_listen_port)",
                   "prometheus (prometheus_web_listen_address)")
    _assert_no_role_ran(out)
    assert _host_state() == before, "a refused run changed a file or (re)started a service"
    wait_for(_consul_through_nginx, 30, "Consul's peers through nginx on port 80")
    wait_for(_prometheus_ready, 30, "Prometheus ready on port 9090")


def test_exporter_address_without_port_is_refused_before_any_role():
    before = _host_state()
    rc, out = run_playbook(PLAYBOOK, {"node_exporter_listen_address": "0.0.0.0"})
    assert_refused(rc, out, [HOST], "node_exporter_listen_address of consul-seed: '0.0.0.0' has no port (host:port,"
                   " for example 0.0.0.0:9100 or :9100)")
    _assert_no_role_ran(out)
    assert _host_state() == before, "a refused run changed a file or (re)started a service"
    wait_for(_node_exporter_serves, 30, "node_exporter's metrics on port 9100")


def test_reload_nginx_cannot_apply_puts_the_previous_site_back():
    site = HOST_IO.file(SITE).content_string
    master = HOST_IO.check_output("systemctl show -p MainPID --value nginx")
    with foreign_listener(NGINX_NEW_PORT):
        rc, out = run_playbook(PLAYBOOK, {"consul_lb_listen_port": NGINX_NEW_PORT}, "--tags", "consul_lb")
        # The message is nginx's own, from its error log: the reload could not bind the port.
        assert_refused(rc, out, [HOST], "nginx rejected the consul_lb site, the live configuration is unchanged: ",
                       "bind() to 0.0.0.0:%d failed" % NGINX_NEW_PORT,
                       may_change=MAY_CHANGE["nginx-reload-cannot-bind"])
        assert "Put the previous site back" in out
        assert HOST_IO.file(SITE).content_string == site, "the previous site is not back"
        # Reloaded on the previous site, never restarted; the port is still the other program's.
        assert HOST_IO.check_output("systemctl show -p MainPID --value nginx") == master
        assert "nginx" not in HOST_IO.check_output("ss -Hltnp sport = :%d" % NGINX_NEW_PORT)
        wait_for(_consul_through_nginx, 30, "Consul's peers through nginx on port 80")
    _assert_rerun_changes_nothing("consul_lb")
    assert HOST_IO.file(SITE).content_string == site


def test_restart_prometheus_cannot_bind_brings_the_previous_server_back():
    files = HOST_IO.check_output("sha256sum %s" % PROMETHEUS_FILES)
    with foreign_listener(PROMETHEUS_NEW_PORT):
        rc, out = run_playbook(PLAYBOOK, {"prometheus_web_listen_address": "0.0.0.0:%d" % PROMETHEUS_NEW_PORT,
                                          "prometheus_start_timeout": PROMETHEUS_START_TIMEOUT}, "--tags", "prometheus")
        assert_refused(rc, out, [HOST], "Prometheus %s did not come up ready at http://127.0.0.1:%d within %ds"
                       % (PROMETHEUS_VERSION, PROMETHEUS_NEW_PORT, PROMETHEUS_START_TIMEOUT),
                       "the previous unit and configuration are restored and restarted",
                       may_change=MAY_CHANGE["prometheus-restart-cannot-bind"])
        assert HOST_IO.check_output("sha256sum %s" % PROMETHEUS_FILES) == files, "the previous files are not back"
        wait_for(_prometheus_ready, 120, "Prometheus ready on port 9090 again")
        running = HOST_IO.check_output("tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value prometheus)/cmdline")
        assert "--web.listen-address=0.0.0.0:9090" in running, running
    _assert_rerun_changes_nothing("prometheus")
    assert HOST_IO.check_output("sha256sum %s" % PROMETHEUS_FILES) == files


def test_declared_exceptions_are_the_documented_ones():
    assert_doc_declares(__file__, "changed>0", MAY_CHANGE)
