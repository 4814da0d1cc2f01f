"""agent_service's pure parts at their edges: the option spec as Ansible applies it, validation
limits and messages, the state compared with the agent's, and the check payload Consul receives.

AgentService's own read (the module reads in bulk instead) is tested on what Consul 1.8.7
answered, replayed from a cassette (tests/unit/replay.py)."""

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sdstack.consul.plugins.module_utils._agent_service import (
    AgentService,
    InvalidService,
    _check_payload,
    desired_state,
    service_spec,
    validate,
)
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulClient
from replay import AGENT_URL, sent

HTTP = {"http": "http://127.0.0.1:9100/", "interval": "10s"}


def checked(**svc):
    """The service as Ansible hands it to the module: spec applied, defaults filled in."""
    result = ArgumentSpecValidator(service_spec(name_required=False)).validate(dict(svc))
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def spec_errors(**svc):
    return ArgumentSpecValidator(service_spec(name_required=False)).validate(dict(svc)).error_messages


def refusal(**svc):
    with pytest.raises(InvalidService) as e:
        validate(dict(svc))
    return str(e.value)


# The option spec

def test_every_check_option_is_known_and_typed():
    chk = dict(name="metrics", check_id="c1", http="https://127.0.0.1:9100/", interval="10s", timeout="2s",
               deregister_critical_service_after="10m", method="HEAD", header={"X-A": "1"},
               tls_skip_verify="yes", notes="n")
    svc = checked(name="s", checks=[chk, dict(ttl="30s"), dict(grpc="127.0.0.1:9090/h", interval="5s")])
    first = svc["checks"][0]
    assert {k: first[k] for k in chk} == dict(chk, tls_skip_verify=True)
    assert svc["checks"][1]["ttl"] == "30s" and svc["checks"][2]["grpc"] == "127.0.0.1:9090/h"


def test_a_header_must_be_a_mapping():
    assert spec_errors(name="s", checks=[dict(HTTP, header="X-A: 1")])


def test_weights_fill_in_the_missing_one_with_1():
    assert checked(name="s", weights={"warning": 3})["weights"] == {"passing": 1, "warning": 3}
    assert checked(name="s", weights={"passing": 3})["weights"] == {"passing": 3, "warning": 1}


def test_weights_are_converted_and_unknown_ones_refused():
    assert checked(name="s", weights={"passing": "10"})["weights"] == {"passing": 10, "warning": 1}
    assert spec_errors(name="s", weights={"pasing": 10})


def test_a_weight_is_not_masked_as_a_secret():
    result = ArgumentSpecValidator(service_spec(False)).validate({"name": "s", "weights": {"passing": 10}})
    assert not result._no_log_values  # pylint: disable=protected-access


def test_tags_are_strings_even_when_yaml_read_numbers():
    assert checked(name="s", tags=["v1", 2021])["tags"] == ["v1", "2021"]


def test_enable_tag_override_is_a_known_option():
    assert checked(name="s", enable_tag_override=True)["enable_tag_override"] is True


# validate()

def test_a_blank_name_is_refused_with_its_own_message():
    assert refusal(name="  ") == "a service needs a non-empty name"


def test_messages_name_the_service_by_its_id():
    assert refusal(name="n", id="the-id", port=70000) == "service the-id: port 70000 is not in 0-65535"


@pytest.mark.parametrize("port", [0, 65535])
def test_port_edges_are_accepted(port):
    assert validate(dict(name="s", port=port)) == []


@pytest.mark.parametrize("port", [-1, 65536])
def test_ports_past_the_edges_are_refused(port):
    assert refusal(name="s", port=port) == "service s: port %d is not in 0-65535" % port


def test_meta_at_consuls_limits_is_accepted():
    assert validate(dict(name="s", meta={"k%d" % i: "v" for i in range(64)})) == []
    assert validate(dict(name="s", meta={"k": "v" * 512})) == []


def test_a_meta_value_that_is_no_string_is_named():
    assert refusal(name="s", meta={"k": 1}) == "service s: meta k must be a string, got 1"


@pytest.mark.parametrize("weights", [{"passing": 1, "warning": 0}, {"passing": 1}, {"warning": 0}])
def test_weight_edges_are_accepted(weights):
    assert validate(dict(name="s", weights=weights)) == []


def test_a_negative_warning_weight_is_refused():
    assert refusal(name="s", weights={"passing": 1, "warning": -1}) == \
        "service s: weights need passing >= 1 and warning >= 0"


def test_a_check_is_named_by_its_name_when_it_has_one():
    assert refusal(name="s", checks=[{"name": "metrics", "http": "http://x/"}]) == \
        "service s check metrics: a http check needs an interval"


@pytest.mark.parametrize("opt", ["timeout", "deregister_critical_service_after", "ttl"])
def test_every_duration_option_is_checked(opt):
    chk = {"ttl": "30s", opt: "ten seconds"}
    assert refusal(name="s", checks=[chk]) == \
        "service s check 1: %s 'ten seconds' is not a duration like 10s, 1m30s or 500ms" % opt


def test_a_ttl_check_needs_no_interval():
    assert validate(dict(name="s", checks=[{"ttl": "30s"}])) == []


def test_a_dns_safe_name_is_not_warned_about():
    assert validate(dict(name="node-exporter")) == []


def test_the_dns_warning_says_why_and_what_to_use():
    assert validate(dict(name="a.b")) == [
        "service a.b: name 'a.b' is not DNS-safe (use letters, digits and '-'; no dots): Consul cannot serve it "
        "as a.b.service.consul"]


@pytest.mark.parametrize("tcp", ["[::1:2]:80", "[fd00::1:2]:80", "node_3:80", "127.0.0.1:65535"])
def test_tcp_targets_accepted(tcp):
    assert validate(dict(name="s", checks=[{"tcp": tcp, "interval": "10s"}])) == []


@pytest.mark.parametrize("tcp", ["[node1:80", "node1]:80", "127.0.0.1:65536"])
def test_tcp_targets_refused(tcp):
    assert refusal(name="s", checks=[{"tcp": tcp, "interval": "10s"}]) == \
        "service s check 1: tcp %r is not host:port with a port in 1-65535" % tcp


# desired_state() and the payload

def test_the_id_is_the_services_own_when_given():
    assert desired_state(dict(name="n", id="the-id", checks=[HTTP]))["ID"] == "the-id"
    assert desired_state(dict(name="n", id="the-id", checks=[HTTP]))["Checks"][0]["CheckID"] == "service:the-id"


def test_desired_state_keeps_the_warning_weight_and_tag_override():
    state = desired_state(dict(name="s", weights={"passing": 2, "warning": 3}, enable_tag_override=True))
    assert state["Weights"] == {"Passing": 2, "Warning": 3} and state["EnableTagOverride"] is True


def test_several_checks_get_consuls_numbered_ids_unless_given_one():
    checks = desired_state(dict(name="s", checks=[HTTP, HTTP, dict(HTTP, check_id="mine")]))["Checks"]
    assert [c["CheckID"] for c in checks] == ["service:s:1", "service:s:2", "mine"]


def test_an_empty_option_is_an_unset_one():
    assert desired_state(dict(name="s", checks=[dict(HTTP, method="")])) == desired_state(dict(name="s", checks=[HTTP]))


def test_the_digest_does_not_depend_on_header_order():
    one = desired_state(dict(name="s", checks=[dict(HTTP, header={"A": "1", "B": "2"})]))
    other = desired_state(dict(name="s", checks=[dict(HTTP, header={"B": "2", "A": "1"})]))
    assert one["Checks"][0]["Notes"] == other["Checks"][0]["Notes"]


def test_notes_keep_the_users_text_before_the_digest():
    notes = desired_state(dict(name="s", checks=[dict(HTTP, notes="see the runbook")]))["Checks"][0]["Notes"]
    assert notes.startswith("see the runbook [sdstack.consul def:")


def test_the_payload_names_every_option_as_consul_does():
    chk = dict(HTTP, timeout="2s", deregister_critical_service_after="10m", method="HEAD",
               header={"X-A": "1", "X-B": ["2", "3"]}, tls_skip_verify=True)
    payload = _check_payload(desired_state(dict(name="s", checks=[chk]))["Checks"][0])
    assert {k: v for k, v in payload.items() if k not in ("CheckID", "Name", "Notes")} == dict(
        HTTP="http://127.0.0.1:9100/", Interval="10s", Timeout="2s", DeregisterCriticalServiceAfter="10m",
        Method="HEAD", Header={"X-A": ["1"], "X-B": ["2", "3"]}, TLSSkipVerify=True)


@pytest.mark.parametrize("chk,key,value", [
    ({"ttl": "30s"}, "TTL", "30s"),
    ({"grpc": "127.0.0.1:9090/health", "interval": "5s"}, "GRPC", "127.0.0.1:9090/health"),
])
def test_the_payload_of_ttl_and_grpc_checks(chk, key, value):
    payload = _check_payload(desired_state(dict(name="s", checks=[chk]))["Checks"][0])
    assert payload[key] == value


# AgentService's own read, on what Consul 1.8.7 answered

def test_ensure_reads_the_agent_itself_and_second_time_changes_nothing(cassette):
    svc = dict(name="svc-read", port=19200, checks=[HTTP])
    r = AgentService(ConsulClient([AGENT_URL]), svc).ensure("present")
    assert r["changed"] and r["action"] == "created", r
    r = AgentService(ConsulClient([AGENT_URL]), svc).ensure("present")
    assert not r["changed"] and r["service"]["Checks"][0]["CheckID"] == "service:svc-read", r
    assert sent(cassette) == [
        ("GET", "/v1/agent/service/svc-read"),
        ("PUT", "/v1/agent/service/register?replace-existing-checks=true"),
        ("GET", "/v1/agent/service/svc-read"),
        ("GET", "/v1/agent/checks"),
    ]
