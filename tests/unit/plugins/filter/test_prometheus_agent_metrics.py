"""The consul-agents job: Consul's own /v1/agent/metrics scraped with params, a bearer token in the
form of the Prometheus release (bearer_token before 2.26, authorization from 2.26) and the CA."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.prometheus import prometheus_consul_scrape_configs
from ansible_collections.sdstack.consul.plugins.filter.prometheus_server import prometheus_server
from prometheus_role import load_yaml, settings

AGENTS = {"job_name": "consul-agents", "servers": ["127.0.0.1:443"], "scheme": "https", "token": "sd-secret",
          "services": ["consul-agent"], "metrics_path": "/v1/agent/metrics", "params": {"format": "prometheus"},
          "scrape_scheme": "https", "scrape_token": "metrics-secret"}
CA = "/etc/prometheus/consul-ca.pem"


def agents_job(version, **over):
    return prometheus_consul_scrape_configs([dict(AGENTS, **over)], ca_file=CA, version=version)[0]


@pytest.mark.parametrize("version", ["2.24.1", "2.25.2", (2, 25)])
def test_before_2_26_the_token_is_bearer_token(version):
    job = agents_job(version)
    assert job["bearer_token"] == "metrics-secret" and "authorization" not in job


@pytest.mark.parametrize("version", ["2.26.0", "2.53.4", "3.5.0", (3, 5), None])
def test_from_2_26_the_token_is_authorization(version):
    job = agents_job(version)
    assert job["authorization"] == {"type": "Bearer", "credentials": "metrics-secret"} and "bearer_token" not in job


def test_targets_scraped_over_https_with_the_ca_and_params_as_lists():
    job = agents_job("2.24.1")
    assert job["scheme"] == "https" and job["tls_config"] == {"ca_file": CA}
    assert job["metrics_path"] == "/v1/agent/metrics" and job["params"] == {"format": ["prometheus"]}
    # The Consul API's own token and CA stay in the discovery entry, apart from the scrape's.
    sd = job["consul_sd_configs"][0]
    assert sd["token"] == "sd-secret" and sd["tls_config"] == {"ca_file": CA} and sd["services"] == ["consul-agent"]


def test_plain_http_jobs_get_no_scrape_keys():
    job = prometheus_consul_scrape_configs([{"job_name": "j", "servers": ["c:8500"]}], version="2.24.1")[0]
    assert not {"scheme", "bearer_token", "authorization", "tls_config", "params"} & set(job)


def test_own_scrape_tls_config_wins_over_the_ca():
    job = agents_job("3.5.0", scrape_tls_config={"ca_file": "/own.pem", "server_name": "a"})
    assert job["tls_config"] == {"ca_file": "/own.pem", "server_name": "a"}


def test_bad_version_is_one_line():
    with pytest.raises(AnsibleFilterError, match=r"^prometheus_consul_scrape_configs: version 'x' is not a "):
        agents_job("x")


@pytest.mark.parametrize("version,key", [("2.24.1", "bearer_token"), ("3.5.0", "authorization")])
def test_the_server_model_passes_its_version_and_marks_the_secret(version, key):
    out = prometheus_server(settings(version, prometheus_consul_jobs=[AGENTS], prometheus_consul_ca_src="/ca.pem"))
    assert key in out["config"]["scrape_configs"][0] and out["has_secrets"]
    no_sd_token = dict(AGENTS)
    del no_sd_token["token"]
    assert prometheus_server(settings(version, prometheus_consul_jobs=[no_sd_token]))["has_secrets"]


@pytest.mark.parametrize("inventory", ["seed", "cluster"])
def test_shipped_inventories_scrape_every_agent_and_prometheus_itself(inventory):
    values = load_yaml("inventories", inventory, "group_vars", "prometheus.yml")
    out = prometheus_server(settings("2.24.1", **values))
    jobs = {job["job_name"]: job for job in out["config"]["scrape_configs"]}
    agents = jobs["consul-agents"]
    assert agents["metrics_path"] == "/v1/agent/metrics" and agents["params"] == {"format": ["prometheus"]}
    assert all(sd["services"] == ["consul-agent"] for sd in agents["consul_sd_configs"])
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["127.0.0.1:9090"]}]
