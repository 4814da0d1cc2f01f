"""The server model: flags, local URL and configuration per version, and every bad value refused in one line."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.prometheus_server import (
    FilterModule, parse_version, prometheus_config_refusal, prometheus_server)
from prometheus_role import settings


def test_seed_on_2_24():
    out = prometheus_server(settings())
    assert out["major"] == 2
    assert out["flags"] == ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/var/lib/prometheus",
                            "--storage.tsdb.retention.time=15d", "--web.listen-address=0.0.0.0:9090"]
    assert out["local_url"] == "http://127.0.0.1:9090" and out["port"] == 9090
    assert out["uses_consul_sd"] is True and out["has_secrets"] is False
    assert out["consul_ca_file"] == "/etc/prometheus/consul-ca.pem"
    assert [j["job_name"] for j in out["config"]["scrape_configs"]] == [
        "consul-node-exporter", "consul-cadvisor-exporter", "consul-agents", "prometheus"]
    assert all("fallback_scrape_protocol" not in j for j in out["config"]["scrape_configs"])


def test_3x_consul_jobs_fall_back_to_the_text_format():
    jobs = prometheus_server(settings("3.5.0"))["config"]["scrape_configs"]
    assert [j.get("fallback_scrape_protocol") for j in jobs] == ["PrometheusText0.0.4"] * 3 + [None]
    jobs = prometheus_server(settings("3.5.0", prometheus_fallback_scrape_protocol=""))["config"]["scrape_configs"]
    assert all("fallback_scrape_protocol" not in j for j in jobs)


def test_every_option():
    out = prometheus_server(settings(
        "2.53.4", prometheus_web_listen_address="[::]:9091", prometheus_web_external_url="https://ex.org/prom/",
        prometheus_storage_retention_time="", prometheus_storage_retention_size="10GB",
        prometheus_extra_args=["--web.enable-lifecycle"], prometheus_scrape_timeout="5s",
        prometheus_external_labels={"dc": "one"}, prometheus_self_scrape=False, prometheus_config_dir="/etc/p/",
        prometheus_consul_ca_src="/ca.pem",
        prometheus_consul_jobs=[{"job_name": "j", "servers": ["c:443"], "scheme": "https", "token": "t"}]))
    assert out["flags"] == ["--config.file=/etc/p/prometheus.yml", "--storage.tsdb.path=/var/lib/prometheus",
                            "--storage.tsdb.retention.size=10GB", "--web.external-url=https://ex.org/prom/",
                            "--web.enable-lifecycle", "--web.listen-address=[::]:9091"]
    assert out["local_url"] == "http://[::1]:9091/prom" and out["has_secrets"] is True
    assert out["config"]["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s", "scrape_timeout": "5s",
                                       "external_labels": {"dc": "one"}}
    (job,) = out["config"]["scrape_configs"]
    assert job["consul_sd_configs"][0]["tls_config"] == {"ca_file": "/etc/p/consul-ca.pem"}


def test_self_job_follows_the_route_prefix_and_listen_host():
    out = prometheus_server(settings(prometheus_web_listen_address="10.0.0.5:9090", prometheus_consul_jobs=[],
                                     prometheus_web_external_url="http://p.example/sub"))
    assert out["config"]["scrape_configs"] == [{"job_name": "prometheus", "metrics_path": "/sub/metrics",
                                                "static_configs": [{"targets": ["10.0.0.5:9090"]}]}]
    assert out["uses_consul_sd"] is False and out["local_url"] == "http://10.0.0.5:9090/sub"


@pytest.mark.parametrize("version,expected", [("2.24.1", (2, 24)), ("v2.53.4", (2, 53)), ("3.5.0", (3, 5)),
                                              ("3.0.0-rc.1", (3, 0)), ("2.24.1+ds", (2, 24))])
def test_versions(version, expected):
    assert parse_version(version) == expected


@pytest.mark.parametrize("change,message", [
    ({"prometheus_version": "latest"}, "prometheus_version 'latest' is not a release version"),
    ({"prometheus_version": "2.23.0"}, "prometheus_version '2.23.0' is not supported: the role is shaped for"),
    ({"prometheus_version": "4.0.0"}, "prometheus_version '4.0.0' is not supported"),
    ({"prometheus_web_listen_address": "0.0.0.0"}, "prometheus_web_listen_address '0.0.0.0' is not host:port"),
    ({"prometheus_web_listen_address": ":0"}, "prometheus_web_listen_address ':0' is not host:port"),
    ({"prometheus_web_listen_address": "h:65536"}, "prometheus_web_listen_address 'h:65536' is not host:port"),
    ({"prometheus_web_listen_address": "::1:9090"}, "prometheus_web_listen_address '::1:9090' is not host:port"),
    ({"prometheus_scrape_interval": "15"}, "prometheus_scrape_interval '15' is not a Prometheus duration"),
    ({"prometheus_scrape_interval": ""}, "prometheus_scrape_interval '' is not a Prometheus duration"),
    ({"prometheus_evaluation_interval": "0s"}, "prometheus_evaluation_interval '0s' is not a Prometheus duration"),
    ({"prometheus_scrape_timeout": "1m1h"}, "prometheus_scrape_timeout '1m1h' is not a Prometheus duration"),
    ({"prometheus_storage_retention_time": "15 days"},
     "prometheus_storage_retention_time '15 days' is not a Prometheus duration"),
    ({"prometheus_storage_retention_size": "10G"}, "prometheus_storage_retention_size '10G' is not a size"),
    ({"prometheus_web_external_url": "example.org/p"},
     "prometheus_web_external_url 'example.org/p' is not an http(s) URL"),
    ({"prometheus_external_labels": ["dc"]}, "prometheus_external_labels must be a dict"),
    ({"prometheus_self_scrape": "maybe"}, "prometheus_self_scrape must be true or false, got 'maybe'"),
    ({"prometheus_scrape_configs": {"job_name": "x"}}, "prometheus_scrape_configs must be a list"),
    ({"prometheus_extra_args": "--web.enable-lifecycle"}, "prometheus_extra_args must be a list of strings"),
    ({"prometheus_extra_args": ["web.enable-lifecycle"]}, "prometheus_extra_args: 'web.enable-lifecycle' is not a flag"),
    ({"prometheus_extra_args": ["--web.listen-address=:9091"]},
     "prometheus_extra_args: '--web.listen-address=:9091' is set by the role; use its variable instead"),
    ({"prometheus_extra_args": ["--storage.tsdb.retention=30d"], "prometheus_version": "3.0.0"},
     "prometheus_extra_args: --storage.tsdb.retention was removed in Prometheus 3: use --storage.tsdb.retention.time"),
    ({"prometheus_extra_args": ["--enable-feature=exemplar-storage,agent"], "prometheus_version": "3.5.0"},
     "prometheus_extra_args: --enable-feature=agent has no effect in Prometheus 3 (use --agent)"),
    ({"prometheus_fallback_scrape_protocol": "text"}, "prometheus_fallback_scrape_protocol 'text' is not one of"),
    ({"prometheus_consul_jobs": [{"job_name": "j", "servers": []}]}, "prometheus_consul_jobs[0] (j): servers is empty"),
])
def test_bad_values_fail_in_one_line_naming_them(change, message):
    with pytest.raises(AnsibleFilterError) as err:
        prometheus_server(settings(**change))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_flags_removed_in_3_pass_on_2x():
    out = prometheus_server(settings(prometheus_extra_args=["--storage.tsdb.retention=30d",
                                                            "--enable-feature=promql-at-modifier"]))
    assert out["flags"][-3:-1] == ["--storage.tsdb.retention=30d", "--enable-feature=promql-at-modifier"]


def test_not_a_dict():
    with pytest.raises(AnsibleFilterError, match="needs a dict of the role's variables, got list"):
        prometheus_server([])


REJECTED = "promtool rejected the new Prometheus configuration (the live one is unchanged): "


@pytest.mark.parametrize("result,message", [
    ({"msg": "failed to validate", "stdout": "Checking /tmp/x\n",
      "stderr": "  FAILED: parsing YAML file /tmp/x:\n  error parsing regexp: invalid `(?=`\n"},
     REJECTED + "FAILED: parsing YAML file /tmp/x: error parsing regexp: invalid `(?=`"),
    ({"msg": "failed to validate", "stderr": "", "stdout": "Checking\n  SUCCESS?\n"}, REJECTED + "Checking SUCCESS?"),
    ({"msg": "failed to validate"}, REJECTED),
    ({"msg": "Destination directory /etc/prometheus does not exist"},
     "Destination directory /etc/prometheus does not exist"),
])
def test_config_refusal_in_one_line(result, message):
    assert prometheus_config_refusal(result) == message


def test_filter_registered():
    assert FilterModule().filters()["prometheus_server"] is prometheus_server
    assert FilterModule().filters()["prometheus_config_refusal"] is prometheus_config_refusal
