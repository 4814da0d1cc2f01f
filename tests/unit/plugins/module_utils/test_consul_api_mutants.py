"""consul_api's pure parts: the shared options, URL checks, headers, and how an answer's body
and a failure's reason become one line."""

import re

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.six.moves.urllib.error import URLError

from ansible_collections.sdstack.consul.plugins.module_utils import _consul_api as consul_api
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import (
    CONNECTION_ARGSPEC, ConsulClient, ConsulError, Response, connection_argspec)


def test_the_shared_options_default_to_the_local_agent_and_verify_tls():
    assert CONNECTION_ARGSPEC["url"]["default"] == ["http://127.0.0.1:8500"]
    assert CONNECTION_ARGSPEC["validate_certs"]["default"] is True
    assert CONNECTION_ARGSPEC["timeout"]["default"] == 10
    assert CONNECTION_ARGSPEC["token"]["no_log"] is True


def test_the_token_falls_back_to_consuls_own_variable(monkeypatch):
    monkeypatch.setenv("CONSUL_HTTP_TOKEN", "from-env")
    (fallback,) = CONNECTION_ARGSPEC["token"]["fallback"]
    assert fallback() == "from-env"


def test_a_modules_own_options_join_the_shared_ones():
    spec = connection_argspec(name=dict(type="str"))
    assert spec["name"] == dict(type="str") and spec["url"] is CONNECTION_ARGSPEC["url"]
    assert "name" not in CONNECTION_ARGSPEC


def test_urls_lose_trailing_slashes_and_blank_entries():
    assert ConsulClient(["http://a:8500/", " ", "", "https://b:8501"]).urls == ["http://a:8500", "https://b:8501"]


@pytest.mark.parametrize("urls,message", [
    ([" "], "url: give at least one Consul HTTP API URL"),
    (["http://a:8500", "a:8500"], "url: 'a:8500' is not an http:// or https:// URL"),
])
def test_bad_urls_are_whole_lines(urls, message):
    with pytest.raises(ConsulError) as e:
        ConsulClient(urls)
    assert str(e.value) == message


@pytest.mark.parametrize("token,body,headers", [
    (None, None, {"Accept": "application/json"}),
    ("t", None, {"Accept": "application/json", "X-Consul-Token": "t"}),
    (None, "{}", {"Accept": "application/json", "Content-Type": "application/json"}),
])
def test_headers_carry_the_token_and_the_body_type_only_when_there_is_one(token, body, headers):
    assert ConsulClient(["http://a"], token=token)._headers(body) == headers


@pytest.mark.parametrize("raw,body", [
    (None, None), (b"", None), (b" \n", None), (b'{"a": [1]}', {"a": [1]}), (b"ACL not found", "ACL not found"),
])
def test_bodies_decode_to_json_text_or_nothing(raw, body):
    assert consul_api._decode(raw) == body


def test_one_line_is_whitespace_collapsed_json_sorted_and_at_most_300_characters():
    assert consul_api.oneline("a \n b\t c") == "a b c"
    assert consul_api.oneline({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'
    assert consul_api.oneline("x" * 301) == "x" * 300


def test_a_reason_is_the_errors_own_reason_or_the_error():
    assert consul_api._reason(URLError("refused \n now")) == "refused now"
    assert consul_api._reason(OSError("timed out")) == "timed out"


def test_an_unreadable_error_body_reads_as_empty():
    class Unreadable:
        def read(self):
            raise OSError("connection reset")

    assert consul_api._read(Unreadable()) == b""


def test_a_response_without_headers_has_an_empty_dict():
    assert Response(200, None, "u").headers == {}


def test_a_consul_error_keeps_the_status_and_body():
    e = ConsulError("m", status=403, body="ACL not found")
    assert (str(e), e.status, e.body) == ("m", 403, "ACL not found")


def test_the_shared_options_convert_what_a_playbook_gives(monkeypatch):
    monkeypatch.setenv("HOME", "/home/op")
    monkeypatch.delenv("CONSUL_HTTP_TOKEN", raising=False)
    result = ArgumentSpecValidator(connection_argspec()).validate(dict(
        url=[8500], token=1234, ca_path="~/ca.pem", client_cert="~/c.pem", client_key="~/k.pem", validate_certs="no",
        timeout="2.5"))
    assert result.error_messages == []
    assert result.validated_parameters == dict(
        url=["8500"], token="1234", ca_path="/home/op/ca.pem", client_cert="/home/op/c.pem",
        client_key="/home/op/k.pem", validate_certs=False, timeout=2.5)


def test_only_the_token_is_hidden_from_logs_the_key_is_a_path():
    result = ArgumentSpecValidator(connection_argspec()).validate(dict(token="s3cret", client_key="/etc/k.pem"))
    assert result._no_log_values == {"s3cret"}  # pylint: disable=protected-access


def test_a_client_verifies_tls_and_waits_10_s_unless_told_otherwise():
    client = ConsulClient(["https://a:8501"])
    assert (client.validate_certs, client.timeout) == (True, 10)


def test_a_modules_connection_options_reach_its_client():
    class Module:  # what from_module reads of an AnsibleModule
        params = dict(url=["https://a:8501"], token="t", ca_path="/ca", client_cert="/c", client_key="/k",
                      validate_certs=False, timeout=3.0)

    client = ConsulClient.from_module(Module())
    assert (client.urls, client.token, client.ca_path, client.client_cert, client.client_key, client.validate_certs,
            client.timeout) == (["https://a:8501"], "t", "/ca", "/c", "/k", False, 3.0)


def test_bytes_that_are_no_utf8_still_decode():
    assert consul_api._decode(b"caf\xe9") == "caf\udce9"  # surrogateescape: the byte survives


def test_no_agent_listening_is_one_line_naming_each():
    # Nothing listens on these loopback ports: the refusals are the kernel's own.
    with pytest.raises(ConsulError) as e:
        ConsulClient(["http://127.0.0.1:1", "http://127.0.0.1:2"], timeout=2).get("/v1/status/leader")
    assert re.fullmatch(r"no Consul agent reachable: http://127\.0\.0\.1:1 \([^;]*refused[^;]*\); "
                        r"http://127\.0\.0\.1:2 \([^;]*refused[^;]*\)", str(e.value)), str(e.value)
