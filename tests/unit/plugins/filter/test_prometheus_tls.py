"""TLS for Consul SD jobs: the role's CA as default, a job's own tls_config, unknown keys refused."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.prometheus import prometheus_consul_scrape_configs

JOB = {"job_name": "consul-node-exporter", "servers": ["127.0.0.1:443"], "scheme": "https"}
CA = "/etc/prometheus/consul-ca.pem"


def sd(jobs, ca_file=None):
    return prometheus_consul_scrape_configs(jobs, None, ca_file)[0]["consul_sd_configs"][0]


def test_https_job_gets_the_roles_ca():
    assert sd([JOB], CA)["tls_config"] == {"ca_file": CA}


def test_http_job_and_no_ca_get_no_tls_config():
    assert "tls_config" not in sd([dict(JOB, scheme="http")], CA)
    assert "tls_config" not in sd([JOB])


def test_a_jobs_own_tls_config_wins():
    own = {"ca_file": "/etc/ssl/other.pem", "server_name": "server.dc1.consul"}
    assert sd([dict(JOB, tls_config=own)], CA)["tls_config"] == own


@pytest.mark.parametrize("tls, msg", [
    ({"ca": "/x"}, r"tls_config: unknown key\(s\) ca \(known: ca_file, cert_file"),
    ("/x.pem", r"tls_config must be a dict"),
])
def test_bad_tls_config_named(tls, msg):
    with pytest.raises(AnsibleFilterError, match=r"prometheus_consul_jobs\[0\] \(consul-node-exporter\): " + msg):
        sd([dict(JOB, tls_config=tls)], CA)
