"""The converged host: Prometheus installed per release, its validated config, a hardened unit,
and the node_exporter it discovered through Consul scraped with the labels of its Consul meta."""

from prom import ADDR, CONFIG, HOST_IO as host, META, loaded_config, main_pid, on_host, wait_for_target


def test_release_folder_and_links():
    for tool in ("prometheus", "promtool"):
        f = host.file("/opt/prometheus/2.24.1/" + tool)
        assert (f.user, f.group, f.mode) == ("root", "root", 0o755)
        link = host.file("/usr/local/bin/" + tool)
        assert link.is_symlink and link.linked_to == "/opt/prometheus/2.24.1/" + tool
    version = host.run("/usr/local/bin/prometheus --version")
    assert "version 2.24.1" in version.stdout + version.stderr


def test_config_valid_and_owned():
    cfg = host.file(CONFIG)
    assert (cfg.user, cfg.group, cfg.mode) == ("root", "prometheus", 0o640)
    assert host.file("/etc/prometheus").mode == 0o750
    check = host.run("/usr/local/bin/promtool check config " + CONFIG)
    assert check.rc == 0, check.stdout + check.stderr
    data = host.file("/var/lib/prometheus")
    assert (data.user, data.group, data.mode) == ("prometheus", "prometheus", 0o750)


def test_loaded_config_is_the_job_model():
    jobs = {j["job_name"]: j for j in loaded_config()["scrape_configs"]}
    assert sorted(jobs) == ["consul-node-exporter", "prometheus"]
    job = jobs["consul-node-exporter"]
    assert job["scrape_interval"] == "5s"
    [sd] = job["consul_sd_configs"]
    assert sd["server"] == "%s:8500" % ADDR and sd["refresh_interval"] == "2s" and sd["allow_stale"] is True
    assert sd["scheme"] == "http" and not sd.get("services")
    keep, labelmap = job["relabel_configs"]
    assert keep["action"] == "keep" and keep["source_labels"] == ["__meta_consul_tags"]
    assert keep["regex"] == ".*node-exporter.*"
    assert labelmap["action"] == "labelmap" and labelmap["regex"] == "__meta_consul_service_metadata_(.+)"


def test_node_exporter_discovered_through_consul_with_meta_labels():
    [target] = wait_for_target("consul-node-exporter")
    labels = target["labels"]
    assert labels["instance"] == "%s:9100" % ADDR
    assert {k: labels.get(k) for k in META} == META
    assert target["discoveredLabels"]["__meta_consul_service"] == "node-exporter"


def test_unit_hardened_and_reloadable():
    props = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show prometheus -p User -p NoNewPrivileges -p ProtectSystem -p ReadWritePaths -p ProtectHome "
        "-p PrivateTmp -p CapabilityBoundingSet -p RestrictSUIDSGID -p ExecReload -p ExecStart -p Restart "
        "-p UnitFileState").splitlines())
    assert props["User"] == "prometheus" and props["NoNewPrivileges"] == "yes"
    assert props["ProtectSystem"] == "strict" and props["ReadWritePaths"] == "/var/lib/prometheus"
    assert props["ProtectHome"] == "yes" and props["PrivateTmp"] == "yes" and props["RestrictSUIDSGID"] == "yes"
    assert props["CapabilityBoundingSet"] == "" and props["Restart"] == "on-failure"
    assert props["UnitFileState"] == "enabled"
    assert "/bin/kill -HUP $MAINPID" in props["ExecReload"].replace("argv[]=", "")
    assert "path=/opt/prometheus/2.24.1/prometheus" in props["ExecStart"]


def test_running_process_is_unprivileged():
    pid = main_pid()
    status = on_host("cat /proc/%d/status" % pid)
    fields = dict(line.split(":", 1) for line in status.splitlines())
    assert fields["NoNewPrivs"].strip() == "1"
    assert int(fields["CapEff"].strip(), 16) == 0
    assert on_host("ps -o user= -p %d" % pid).strip() == "prometheus"
