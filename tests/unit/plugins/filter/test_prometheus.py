import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.prometheus import (
    FilterModule, check_regex, prometheus_consul_scrape_configs as scrape_configs)

SEED_JOB = {"job_name": "consul-node-exporter", "servers": ["172.30.12.100:8500"], "tags_regex": ".*node-exporter.*"}


def test_seed_job_with_defaults():
    assert scrape_configs([SEED_JOB]) == [{
        "job_name": "consul-node-exporter",
        "consul_sd_configs": [{"server": "172.30.12.100:8500", "services": [], "scheme": "http",
                               "allow_stale": True, "refresh_interval": "2s"}],
        "relabel_configs": [
            {"source_labels": ["__meta_consul_tags"], "regex": ".*node-exporter.*", "action": "keep"},
            {"regex": "__meta_consul_service_metadata_(.+)", "action": "labelmap"},
        ],
    }]


def test_one_sd_entry_per_server_all_options():
    job = dict(SEED_JOB, servers=["10.0.0.1:8510", "10.0.0.1:8520", "[fd00::1]:8500"], services=["cadvisor"],
               token="s3cret", scheme="https", datacenter="dc2", refresh_interval="5s", allow_stale="false",
               scrape_interval="30s", metrics_path="/probe", labelmap=False)
    out = scrape_configs([job])[0]
    assert out["scrape_interval"] == "30s" and out["metrics_path"] == "/probe"
    assert [sd["server"] for sd in out["consul_sd_configs"]] == ["10.0.0.1:8510", "10.0.0.1:8520", "[fd00::1]:8500"]
    for sd in out["consul_sd_configs"]:
        assert sd == {"server": sd["server"], "services": ["cadvisor"], "scheme": "https", "allow_stale": False,
                      "refresh_interval": "5s", "datacenter": "dc2", "token": "s3cret"}
    # labelmap off: only the keep rule is left.
    assert [r["action"] for r in out["relabel_configs"]] == ["keep"]


def test_datacenter_label_takes_consuls_datacenter_after_the_labelmap():
    out = scrape_configs([dict(SEED_JOB, datacenter="dc2", datacenter_label="dc")])[0]
    assert out["relabel_configs"][-2:] == [
        {"regex": "__meta_consul_service_metadata_(.+)", "action": "labelmap"},
        {"source_labels": ["__meta_consul_dc"], "target_label": "dc"}]
    # Without it, no rule: existing configurations render as before.
    assert all("target_label" not in r for r in scrape_configs([SEED_JOB])[0]["relabel_configs"])


@pytest.mark.parametrize("label", ["__dc", "1dc", "data-center", 5])
def test_a_datacenter_label_prometheus_would_not_keep_is_refused(label):
    with pytest.raises(AnsibleFilterError) as e:
        scrape_configs([dict(SEED_JOB, datacenter_label=label)])
    assert "datacenter_label %r is not a target label name" % (label,) in str(e.value)


def test_no_regex_and_no_labelmap_means_no_relabelling():
    out = scrape_configs([{"job_name": "all", "servers": ["c:8500"], "labelmap": False}])[0]
    assert "relabel_configs" not in out


def test_extra_configs_appended_unchanged():
    raw = {"job_name": "static", "static_configs": [{"targets": ["a:9100"]}]}
    out = scrape_configs([SEED_JOB], [raw])
    assert [c["job_name"] for c in out] == ["consul-node-exporter", "static"] and out[1] == raw
    assert scrape_configs(None, [raw]) == [raw] and scrape_configs([]) == []


@pytest.mark.parametrize("change,message", [
    ({"servers": []}, "prometheus_consul_jobs[1] (consul-node-exporter): servers is empty"),
    ({"servers": None}, "servers is empty"),
    ({"servers": ["http://10.0.0.1:8500"]}, "server 'http://10.0.0.1:8500' must be host:port without a scheme"),
    ({"servers": ["10.0.0.1"]}, "server '10.0.0.1' is not host:port"),
    ({"servers": ["10.0.0.1:99999"]}, "server '10.0.0.1:99999' is not host:port"),
    ({"servers": "10.0.0.1:8500"}, "servers must be a list of non-empty strings"),
    ({"tags_regex": "node-(exporter"}, "tags_regex 'node-(exporter' is not a valid regular expression: missing )"),
    ({"tags_regex": "[abc"}, "tags_regex '[abc' is not a valid regular expression: unterminated character set"),
    ({"tags_regex": "*x"}, "nothing to repeat"),
    ({"tags_regex": "a**"}, "multiple repeat"),
    ({"tags_regex": "[z-a]"}, "bad character range"),
    ({"tags_regex": ""}, "tags_regex must be a non-empty string"),
    ({"scheme": "ftp"}, "scheme 'ftp' must be http or https"),
    ({"refresh_interval": "2 seconds"}, "refresh_interval '2 seconds' is not a Prometheus duration"),
    ({"refresh_interval": "0s"}, "refresh_interval '0s' is not a Prometheus duration"),
    ({"refresh_interval": "1s2m"}, "is not a Prometheus duration"),
    ({"scrape_interval": "15"}, "scrape_interval '15' is not a Prometheus duration"),
    ({"metrics_path": "metrics"}, "metrics_path 'metrics' must start with /"),
    ({"allow_stale": "maybe"}, "allow_stale must be true or false, got 'maybe'"),
    ({"labelmap": "sometimes"}, "labelmap must be true or false"),
    ({"services": [""]}, "services must be a list of non-empty strings"),
    ({"tag_regex": ".*"}, "unknown key(s) tag_regex"),
])
def test_bad_job_is_one_clear_line(change, message):
    with pytest.raises(AnsibleFilterError) as e:
        scrape_configs([{"job_name": "ok", "servers": ["c:8500"]}, dict(SEED_JOB, **change)])
    text = str(e.value)
    assert message in text and "\n" not in text
    assert text.startswith("prometheus_consul_jobs[1] (consul-node-exporter): ")


@pytest.mark.parametrize("jobs,message", [
    ("job", "prometheus_consul_jobs must be a list of jobs"),
    (["job"], "prometheus_consul_jobs[0]: each job must be a dict"),
    ([{"servers": ["c:8500"]}], "prometheus_consul_jobs[0]: job_name is required"),
    ([{"job_name": " ", "servers": ["c:8500"]}], "prometheus_consul_jobs[0]: job_name is required"),
])
def test_malformed_job_lists(jobs, message):
    with pytest.raises(AnsibleFilterError, match=r"^" + message.replace("[", r"\[").replace("]", r"\]")):
        scrape_configs(jobs)


def test_job_names_unique_across_both_lists():
    with pytest.raises(AnsibleFilterError, match="job_name consul-node-exporter is used twice"):
        scrape_configs([SEED_JOB], [{"job_name": "consul-node-exporter", "static_configs": []}])
    with pytest.raises(AnsibleFilterError, match="job_name a is used twice"):
        scrape_configs([{"job_name": "a", "servers": ["c:1"]}, {"job_name": "a", "servers": ["c:2"]}])
    with pytest.raises(AnsibleFilterError, match=r"prometheus_scrape_configs\[0\]: each scrape config needs a job_name"):
        scrape_configs([], [{"static_configs": []}])


@pytest.mark.parametrize("regex", [
    ".*node-exporter.*",
    r"\pL+",          # RE2 Unicode class: Python's re says "bad escape", RE2 accepts it
    r"a\z",           # RE2 end of text
    "a)(b",           # Prometheus wraps it as ^(?:a)(b)$, which compiles in RE2
    "(?i)Node",
])
def test_regexes_re2_accepts_are_not_rejected(regex):
    assert check_regex(regex, "where") == regex


def test_registered_under_its_name():
    assert FilterModule().filters()["prometheus_consul_scrape_configs"] is scrape_configs
