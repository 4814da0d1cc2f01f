"""The benches' polling aborts on an error answer instead of counting it as "not there yet" or "gone"."""

import json
import re
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import common  # noqa: E402  pylint: disable=wrong-import-position
import consul_cluster  # noqa: E402  pylint: disable=wrong-import-position
import discovery  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(name="server")
def server_fixture():
    """A local HTTP server answering every GET with the (status, body) set in `answer`."""
    answer = {"status": 200, "body": "{}"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  pylint: disable=invalid-name
            body = answer["body"].encode()
            self.send_response(answer["status"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_port, answer
    httpd.shutdown()
    httpd.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TARGETS = {"status": "success", "data": {"activeTargets": [
    {"scrapeUrl": "http://127.0.0.2:9100/metrics", "labels": {"job": "consul-node-exporter"}}]}}


def test_targets_listed(server, monkeypatch):
    url, answer = server
    monkeypatch.setattr(discovery, "PROMETHEUS", url)
    answer["body"] = json.dumps(TARGETS)
    assert discovery.targets("consul-node-exporter") == {"http://127.0.0.2:9100/metrics"}
    assert discovery.targets("other") == set()


@pytest.mark.parametrize("status, body", [(500, "oops"), (503, "{}"), (200, "not json"),
                                          (200, json.dumps({"status": "error", "error": "bad"}))])
def test_targets_error_answer_aborts(server, monkeypatch, status, body):
    url, answer = server
    monkeypatch.setattr(discovery, "PROMETHEUS", url)
    answer.update(status=status, body=body)
    with pytest.raises(common.BenchError, match="bench aborted: .*/api/v1/targets"):
        discovery.targets("consul-node-exporter")


def test_targets_wrong_port_aborts(monkeypatch):
    monkeypatch.setattr(discovery, "PROMETHEUS", "http://127.0.0.1:%d" % free_port())
    with pytest.raises(common.BenchError, match="bench aborted: GET http://127.0.0.1:.*/api/v1/targets"):
        discovery.targets("consul-node-exporter")


HEALTHY = {"Healthy": True, "FailureTolerance": 1, "Servers": [{}, {}, {}]}


def test_cluster_polls(server, monkeypatch):
    url, answer = server
    monkeypatch.setattr(consul_cluster, "API", url.replace("127.0.0.1", "%s"))
    answer["body"] = '""'
    assert consul_cluster.leader("127.0.0.1") == ""
    answer["body"] = '"10.89.20.21:8300"'
    assert consul_cluster.leader("127.0.0.1") == "10.89.20.21:8300"
    answer["body"] = json.dumps(HEALTHY)
    assert consul_cluster.healthy("127.0.0.1")
    answer.update(status=429, body=json.dumps(dict(HEALTHY, Healthy=False)))
    assert not consul_cluster.healthy("127.0.0.1")


@pytest.mark.parametrize("status, body", [(500, "No cluster leader"), (403, "ACL not found"), (200, "<html>")])
def test_cluster_polls_abort_on_error_answers(server, monkeypatch, status, body):
    url, answer = server
    monkeypatch.setattr(consul_cluster, "API", url.replace("127.0.0.1", "%s"))
    answer.update(status=status, body=body)
    with pytest.raises(common.BenchError, match="bench aborted: GET .*/v1/status/leader"):
        consul_cluster.leader("127.0.0.1")
    with pytest.raises(common.BenchError, match="bench aborted: GET .*/v1/operator/autopilot/health"):
        consul_cluster.healthy("127.0.0.1")


def test_cluster_polls_abort_on_refused_connection(monkeypatch):
    monkeypatch.setattr(consul_cluster, "API", "http://%%s:%d" % free_port())
    with pytest.raises(common.BenchError, match="bench aborted: GET http://127.0.0.1:.*/v1/status/leader"):
        consul_cluster.leader("127.0.0.1")


@pytest.fixture(name="dropping")
def dropping_fixture():
    """A TCP server that drops each connection after reading the request ("reset" or "close"), or
    answers 200 with a JSON body ("answer"), as `mode["now"]` says."""
    mode = {"now": "reset"}
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve():
        while True:
            try:
                conn = listener.accept()[0]
            except OSError:
                return
            with conn:
                conn.recv(65536)
                if mode["now"] == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif mode["now"] == "answer":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ntrue")

    threading.Thread(target=serve, daemon=True).start()
    yield "http://127.0.0.1:%d" % listener.getsockname()[1], mode
    listener.close()


@pytest.mark.parametrize("how", ["reset", "close"])
def test_a_dropped_connection_is_not_yet_inside_a_poll(dropping, how):
    url, mode = dropping
    mode["now"] = how
    with pytest.raises(common.Dropped):
        common.api("GET", url + "/api/v1/targets")
    seen = []

    def up():
        seen.append(1)
        if len(seen) == 3:
            mode["now"] = "answer"
        return common.api("GET", url + "/api/v1/targets")[1] is True
    common.wait_for(up, 10, "the targets")
    assert len(seen) == 3  # two drops counted as "not yet", then the answer


def test_a_poll_of_a_service_that_keeps_dropping_times_out_naming_the_drop(dropping):
    url = dropping[0]
    with pytest.raises(common.BenchError, match=r"bench aborted: timed out after 1s waiting for the targets; last"
                                                r" dropped connection: GET http://127.0.0.1:\d+/api/v1/targets"):
        common.wait_for(lambda: common.api("GET", url + "/api/v1/targets"), 1, "the targets")


def test_a_refused_connection_still_aborts_a_poll_at_once():
    url = "http://127.0.0.1:%d" % free_port()
    calls = []

    def up():
        calls.append(1)
        return common.api("GET", url + "/api/v1/targets")
    with pytest.raises(common.BenchError, match="bench aborted: GET http://127.0.0.1:.*/api/v1/targets") as exc:
        common.wait_for(up, 10, "the targets")
    assert not isinstance(exc.value, common.Dropped) and calls == [1]


def test_the_load_is_reported_even_before_the_first_sample():
    got = common.LoadSampler().summary()
    assert got["load1_min"] == got["load1_median"] == got["load1_max"] >= 0 and got["samples"] == []


def test_result_files_are_named_by_their_utc_time():
    assert re.fullmatch(r"\d{8}T\d{6}Z", common.utc_stamp())
    assert re.fullmatch(r"fleet-\d{8}T\d{6}Z\.json", common.result_path("fleet").name)
