"""Verifier checks shared by the Consul scenarios (seed: three instances on one host;
cluster: one per host). python-consul2 is the independent client: it checks what the role
built without going through the collection's own HTTP code.

A scenario runs them by importing the test class and testinfra_hosts from this module.
"""

import os
import time

import consul
import pytest
import requests
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

from sdstack_molecule.playbook_run import module_failure, run_module

DEFAULT_PORTS = dict(http=8500, dns=8600, server=8300, serf_lan=8301, serf_wan=8302)
RUNNER = AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("consul_servers")


def _instances_of(name):
    hv = RUNNER.get_variables(name)
    declared = hv.get("consul_instances") or [{"name": name.split(".")[0]}]
    return [dict(host=name, name=i["name"], address=hv["consul_advertise_address"],
                 ports=dict(DEFAULT_PORTS, **(i.get("ports") or {})),
                 data_dir=i.get("data_dir") or "/opt/consul/" + i["name"]) for i in declared]


CLUSTER = [i for h in testinfra_hosts for i in _instances_of(h)]
NAMES = sorted(i["name"] for i in CLUSTER)


def client(inst):
    return consul.Consul(host=inst["address"], port=inst["ports"]["http"], timeout=10)


def _local(host):
    return [i for i in CLUSTER if i["host"] == host.backend.get_hostname()]


def _raft_args(args):
    return dict(url=["http://%s:%d" % (i["address"], i["ports"]["http"]) for i in CLUSTER], **args)


def raft(host, **args):
    """Run the collection's consul_raft module on the host, against every instance; raises if it fails."""
    return run_module(host, "sdstack.consul.consul_raft", _raft_args(args))


def _wait_until_cluster_sees_it_gone(victim, timeout=30):
    """Independent view (plain HTTP): autopilot or Serf no longer count the victim as healthy."""
    other = next(i for i in CLUSTER if i["name"] != victim["name"])
    url = "http://%s:%d/v1/operator/autopilot/health" % (other["address"], other["ports"]["http"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(url, timeout=5)
        # 500 while the victim was the leader and no successor is elected yet: keep polling.
        if r.status_code in (200, 429):
            me = [s for s in r.json().get("Servers") or [] if s["Name"] == victim["name"]]
            if not me or not me[0]["Healthy"] or me[0]["SerfStatus"] != "alive":
                return
        time.sleep(0.5)
    pytest.fail("the cluster still counts %s healthy %ds after it stopped" % (victim["name"], timeout))


class TestConsulServers:
    """Every server instance of the scenario: units, files, Raft, and the consul_raft module."""

    def test_units_enabled_and_running(self, host):
        for inst in _local(host):
            svc = host.service("consul@%s" % inst["name"])
            assert svc.is_enabled and svc.is_running, inst["name"]

    def test_files_owned_and_permissioned(self, host):
        binary = host.file("/usr/local/bin/consul")
        assert (binary.user, binary.group, binary.mode) == ("root", "root", 0o755)
        for inst in _local(host):
            cfg = host.file("/etc/consul.d/%s/consul.json" % inst["name"])
            assert (cfg.user, cfg.group, cfg.mode) == ("root", "consul", 0o640)
            data = host.file(inst["data_dir"])
            assert data.is_directory and (data.user, data.group, data.mode) == ("consul", "consul", 0o750)
            conf = cfg.content_string
            assert '"raft_multiplier": 1' in conf and '"bootstrap_expect": %d' % len(CLUSTER) in conf
            # retry_join lists every server; never a one-shot -join that fails when its target is down.
            for other in CLUSTER:
                assert '"%s:%d"' % (other["address"], other["ports"]["serf_lan"]) in conf

    def test_consul_runs_as_a_system_account_without_a_login(self, host):
        user = host.user("consul")
        assert user.exists and user.uid < 1000 and user.group == "consul", (user.uid, user.group)
        assert (user.home, user.shell) == ("/opt/consul", "/usr/sbin/nologin")
        assert host.group("consul").gid < 1000

    def test_unit_is_hardened(self, host):
        for inst in _local(host):
            props = host.check_output("systemctl show consul@%s -p Type -p NoNewPrivileges -p ProtectSystem "
                                      "-p ReadWritePaths -p LimitNOFILE -p Restart" % inst["name"])
            got = dict(line.split("=", 1) for line in props.splitlines())
            assert got["Type"] == "notify" and got["NoNewPrivileges"] == "yes" and got["ProtectSystem"] == "strict"
            assert got["ReadWritePaths"] == inst["data_dir"] and got["Restart"] == "on-failure"
            assert int(got["LimitNOFILE"]) >= 65536

    def test_every_instance_agrees_on_one_leader(self, host):
        leaders = {i["name"]: client(i).status.leader() for i in _local(host)}
        ref = client(CLUSTER[0]).status.leader()
        assert ref in {"%s:%d" % (i["address"], i["ports"]["server"]) for i in CLUSTER}
        assert set(leaders.values()) == {ref}, leaders

    def test_three_voters_in_raft(self):
        servers = client(CLUSTER[-1]).operator.raft_config()["Servers"]
        assert sorted(s["Node"] for s in servers) == NAMES
        assert all(s["Voter"] for s in servers)
        assert sum(s["Leader"] for s in servers) == 1

    def test_members_alive_servers(self, host):
        inst = _local(host)[0]
        out = host.check_output("consul members -http-addr=http://%s:%d" % (inst["address"], inst["ports"]["http"]))
        # Client agents (consul_clients) are members too; their own checks are in the cluster scenario.
        rows = [r for r in (line.split() for line in out.splitlines()[1:]) if r[3] == "server"]
        assert sorted(r[0] for r in rows) == NAMES
        assert {r[2] for r in rows} == {"alive"}

    def test_list_peers_one_leader_two_followers(self, host):
        inst = _local(host)[0]
        out = host.check_output("consul operator raft list-peers -http-addr=http://%s:%d"
                                % (inst["address"], inst["ports"]["http"]))
        rows = [line.split() for line in out.splitlines()[1:]]
        assert sorted(r[3] for r in rows) == ["follower", "follower", "leader"]
        assert {r[4] for r in rows} == {"true"}

    def test_consul_raft_module_reports_the_cluster(self, host):
        r = raft(host, expected_voters=NAMES, require_healthy=True, min_failure_tolerance=1)
        assert r["unmet"] == [], r.get("msg")
        assert r["changed"] is False
        assert r["voters"] == NAMES and r["healthy"] is True and r["failure_tolerance"] == 1
        assert r["leader"]["node"] in NAMES

    @pytest.fixture
    def stopped_instance(self):
        victim = CLUSTER[-1]
        h = testinfra.get_host("ansible://%s?ansible_inventory=%s" % (victim["host"], os.environ["MOLECULE_INVENTORY_FILE"]))
        h.check_output("systemctl stop consul@%s" % victim["name"])
        try:
            yield victim, h
        finally:
            h.check_output("systemctl start consul@%s" % victim["name"])

    def test_consul_raft_names_the_missing_voter_then_recovers(self, stopped_instance):
        victim, h = stopped_instance
        _wait_until_cluster_sees_it_gone(victim)
        r = module_failure(h, "sdstack.consul.consul_raft",
                           _raft_args(dict(expected_voters=NAMES, wait=True, wait_timeout=5, poll_interval=0.5)))
        assert r["unmet"] == ["voters 2/3, %s missing" % victim["name"]], r
        # The message names the time the module really waited: the timeout, plus the last poll's read,
        # which a loaded machine stretches past a second (seen: "after 6s" with wait_timeout 5).
        assert 5 <= r["elapsed"] < 5 + 10, r
        assert r["msg"] == "voters 2/3, %s missing after %ds" % (victim["name"], round(r["elapsed"])), r
        h.check_output("systemctl start consul@%s" % victim["name"])
        t0 = time.monotonic()
        r = raft(h, expected_voters=NAMES, require_healthy=True, wait=True, wait_timeout=90)
        assert r["unmet"] == [], r.get("msg")
        print("recovered as a healthy voter in %.1fs" % (time.monotonic() - t0))
