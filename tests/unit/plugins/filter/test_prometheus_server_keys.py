"""Every key and flag the server model emits is one that Prometheus of that version accepts.

The key sets are recorded per release line in tests/unit/fixtures/prometheus_keys/ (each names its
upstream source); the model is rendered with every option the role has.
"""

import json
import os

import pytest

from ansible_collections.sdstack.consul.plugins.filter.prometheus_server import (
    REMOVED_IN_3, SCRAPE_PROTOCOLS, prometheus_server)
from prometheus_role import FIXTURES, settings

VERSIONS = {"2.24.1": "2.24", "2.53.4": "2.53", "3.5.0": "3.5"}
EVERY_OPTION = dict(
    prometheus_web_external_url="https://ex.org/prom/", prometheus_storage_retention_size="10GB",
    prometheus_scrape_timeout="5s", prometheus_external_labels={"dc": "one"}, prometheus_consul_ca_src="/ca.pem",
    prometheus_consul_jobs=[
        {"job_name": "all", "servers": ["c1:8500", "c2:8500"], "services": ["a"], "tags_regex": ".*x.*",
         "labelmap": True, "token": "t", "scheme": "https", "datacenter": "dc1", "refresh_interval": "5s",
         "allow_stale": False, "scrape_interval": "30s", "metrics_path": "/m"},
        {"job_name": "own-tls", "servers": ["c:8501"], "scheme": "https",
         "tls_config": {"ca_file": "/a", "cert_file": "/b", "key_file": "/c", "server_name": "s",
                        "insecure_skip_verify": False}},
        {"job_name": "agents", "servers": ["c:8501"], "scheme": "https", "services": ["consul-agent"],
         "metrics_path": "/v1/agent/metrics", "params": {"format": "prometheus"}, "scrape_scheme": "https",
         "scrape_token": "t", "scrape_tls_config": {"ca_file": "/a", "server_name": "s"}},
        {"job_name": "behind-web-config", "servers": ["c:8501"], "scrape_scheme": "https",
         "scrape_basic_auth": {"username": "prometheus", "password": "p"}},
    ],
    # HTTPS and basic auth of the server itself: its flag and the self-scrape's keys.
    prometheus_web_tls=True, prometheus_web_basic_auth_users={"admin": "a", "prometheus": "p"})


def keys(version):
    with open(os.path.join(FIXTURES, "prometheus_keys", VERSIONS[version] + ".json"), encoding="utf-8") as f:
        return json.load(f)


def emitted(config):
    """(struct, key) pairs of everything in the configuration the model built."""
    out = [("global", k) for k in config["global"]]
    for job in config["scrape_configs"]:
        out += [("scrape_config", k) for k in job]
        out += [("tls_config", k) for k in job.get("tls_config", {})]
        # basic_auth takes username and password in every release (common/config BasicAuth).
        assert set(job.get("basic_auth", {})) <= {"username", "password"}
        for sd in job.get("consul_sd_configs", []):
            out += [("consul_sd_config", k) for k in sd]
            out += [("tls_config", k) for k in sd.get("tls_config", {})]
        for rule in job.get("relabel_configs", []):
            out += [("relabel_config", k) for k in rule] + [("relabel_actions", rule["action"])]
        for static in job.get("static_configs", []):
            out += [("static_config", k) for k in static]
    return out


@pytest.mark.parametrize("version", VERSIONS)
def test_every_emitted_key_exists_in_that_version(version):
    known = keys(version)
    out = prometheus_server(settings(version, **EVERY_OPTION))
    unknown = [(struct, key) for struct, key in emitted(out["config"]) if key not in known[struct]]
    assert not unknown, "Prometheus %s has no %s" % (version, unknown)
    assert ("scrape_config", "fallback_scrape_protocol") in emitted(out["config"]) or version < "3"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_emitted_flag_exists_in_that_version(version):
    out = prometheus_server(settings(version, prometheus_extra_args=["--web.enable-lifecycle"], **EVERY_OPTION))
    names = [flag.split("=", 1)[0] for flag in out["flags"]]
    assert len(names) == 8 and not set(names) - set(keys(version)["flags"])
    assert "--web.config.file" in names


def test_the_removed_flags_are_those_the_fixtures_record():
    for flag in REMOVED_IN_3:
        assert flag in keys("2.24.1")["flags"] and flag in keys("2.53.4")["flags"]
        assert flag not in keys("3.5.0")["flags"]


def test_fallback_protocols_are_those_of_3x():
    assert sorted(SCRAPE_PROTOCOLS) == sorted(keys("3.5.0")["scrape_protocols"])
