"""prometheus_consul_scrape_configs: whole error lines (the operator reads nothing else) and the
edges of what it accepts."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.prometheus import prometheus_consul_scrape_configs

WHERE = "prometheus_consul_jobs[0] (j): "


def error(**job):
    with pytest.raises(AnsibleFilterError) as e:
        prometheus_consul_scrape_configs([dict({"job_name": "j", "servers": ["c:8500"]}, **job)])
    return str(e.value)


@pytest.mark.parametrize("job,message", [
    ({"allow_stale": "maybe"}, "allow_stale must be true or false, got 'maybe'"),
    ({"refresh_interval": "2 s"}, "refresh_interval '2 s' is not a Prometheus duration (for example 2s, 30s, 1m30s)"),
    ({"services": "web"}, "services must be a list of non-empty strings, got 'web'"),
    ({"servers": ["https://c:8500"]},
     "server 'https://c:8500' must be host:port without a scheme (set scheme: https for TLS)"),
    ({"servers": ["c"]}, "server 'c' is not host:port (a Consul HTTP API address, for example 10.0.0.11:8500)"),
    ({"tags_regex": "a)"}, "tags_regex 'a)' is not a valid regular expression: unbalanced parenthesis"),
    ({"tags_regex": "("}, "tags_regex '(' is not a valid regular expression: missing ), unterminated subpattern"),
    ({"tags_regex": 7}, "tags_regex must be a non-empty string, got 7"),
    ({"tls_config": {"ca": 1, "key": 2}}, "tls_config: unknown key(s) ca, key (known: ca_file, cert_file, "
                                          "insecure_skip_verify, key_file, server_name)"),
    ({"port": 1, "host": 2}, "unknown key(s) host, port (known: allow_stale, datacenter, datacenter_label, job_name, labelmap, "
                             "metrics_path, params, refresh_interval, scheme, scrape_basic_auth, scrape_interval, scrape_scheme, "
                             "scrape_tls_config, scrape_token, servers, services, tags_regex, tls_config, token)"),
    ({"servers": []}, "servers is empty: list one or more Consul HTTP API addresses (host:port), for example the "
                      "load balancer's or every server's"),
    ({"scheme": "ftp"}, "scheme 'ftp' must be http or https (how Prometheus talks to the Consul API)"),
    ({"metrics_path": "metrics"}, "metrics_path 'metrics' must start with /"),
    ({"params": "format=prometheus"},
     "params must be a non-empty dict of name: value (or list of values), got 'format=prometheus'"),
    ({"params": {"format": [""]}}, "params.format must be a list of non-empty strings, got ['']"),
    ({"scrape_scheme": "ftp"}, "scrape_scheme 'ftp' must be http or https (how Prometheus scrapes the targets)"),
    ({"scrape_token": " "}, "scrape_token must be a non-empty string (the bearer token sent to every target)"),
    ({"scrape_tls_config": {"ca": 1}}, "scrape_tls_config: unknown key(s) ca (known: ca_file, cert_file, "
                                       "insecure_skip_verify, key_file, server_name)"),
], ids=["bool", "duration", "string-list", "scheme-in-server", "host-port", "unbalanced", "missing-paren",
        "regex-type", "tls-keys", "job-keys", "no-servers", "scheme",
        "metrics-path", "params-type", "params-empty-value", "scrape-scheme", "scrape-token", "scrape-tls-keys"])
def test_each_refusal_is_exactly_one_line_naming_the_job(job, message):
    assert error(**job) == WHERE + message


@pytest.mark.parametrize("port", [1, 65535])
def test_the_first_and_last_port_are_servers(port):
    sd = prometheus_consul_scrape_configs([{"job_name": "j", "servers": ["c:%d" % port]}])[0]["consul_sd_configs"]
    assert [s["server"] for s in sd] == ["c:%d" % port]


@pytest.mark.parametrize("port", [0, 65536])
def test_ports_outside_them_are_refused(port):
    assert error(servers=["c:%d" % port]).startswith(WHERE + "server 'c:%d' is not host:port" % port)


@pytest.mark.parametrize("extra,message", [
    ([{"static_configs": []}], "prometheus_scrape_configs[0]: each scrape config needs a job_name"),
    ([{"job_name": "j"}], "job_name j is used twice: Prometheus needs unique job names (across "
                          "prometheus_consul_jobs and prometheus_scrape_configs)"),
], ids=["nameless", "twice"])
def test_refusals_of_the_extra_configs_are_whole_lines(extra, message):
    with pytest.raises(AnsibleFilterError) as e:
        prometheus_consul_scrape_configs([{"job_name": "j", "servers": ["c:8500"]}], extra)
    assert str(e.value) == message
