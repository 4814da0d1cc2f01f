"""The long blocking query starts when the session does and runs while the other tests do
(the bad-input reruns and a reload among them); test_40 reads its outcome."""

import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import testinfra

# Helpers shared by the scenarios (playbook reruns) live in molecule/_shared/tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared" / "tests"))

from lb_lab import LB  # noqa: E402  pylint: disable=wrong-import-position

KEY = "/v1/kv/consul-lb-test/blocking"
WAIT_S = 70  # above nginx's 60 s default read timeout, which cut such queries (seed finding 5)


class BlockingQuery(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        r = requests.put(LB + KEY, data="v1", timeout=10)
        r.raise_for_status()
        self.index = int(requests.get(LB + KEY, timeout=10).headers["X-Consul-Index"])
        self.status = self.elapsed = self.error = None

    def run(self):
        t0 = time.monotonic()
        try:
            r = requests.get("%s%s?index=%d&wait=%ds" % (LB, KEY, self.index, WAIT_S), timeout=WAIT_S + 60)
            self.status = r.status_code
            self.new_index = int(r.headers.get("X-Consul-Index", 0))
        except requests.RequestException as exc:
            self.error = exc
        self.elapsed = time.monotonic() - t0


@pytest.fixture(scope="session", autouse=True)
def blocking_query():
    q = BlockingQuery()
    q.start()
    return q


@pytest.fixture(scope="session")
def lb():
    """The load balancer host, over `podman exec` (far quicker than an Ansible run per command)."""
    return testinfra.get_host("podman://lb1")
