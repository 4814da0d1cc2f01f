"""The long blocking query starts when the session does and runs while the other tests do
(the bad-input reruns and a reload among them); test_40 reads its outcome. The controller-side
PKI of the TLS tests is made once per session."""

import threading
import time

import pytest
import requests
import testinfra

from lb_lab import LB
from tls_lab import CA

KEY = "/v1/kv/consul-lb-test/blocking"
WAIT_S = 70  # above nginx's 60 s default read timeout, which would cut such queries


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


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """PEM files on the controller: a CA, the load balancer's certificate (its address, as the
    secure profile issues them) and a second one, a Consul-style server certificate, a client
    certificate for nginx, a key of another certificate and a file that is not PEM."""
    folder = tmp_path_factory.mktemp("pki")
    ca = CA(folder)
    paths = {"dir": str(folder), "ca": str(ca.path)}
    for name, kw in (("lb", dict(dns=["localhost"], ips=["10.89.20.51"])),
                     ("lb_next", dict(dns=["localhost"], ips=["10.89.20.51"])),
                     ("server", dict(dns=["server.dc1.consul", "localhost"], ips=["10.89.20.51", "127.0.0.1"])),
                     ("client", dict(client=True))):
        cert, key = ca.issue(name, **kw)
        paths[name + "_cert"], paths[name + "_key"] = str(cert), str(key)
    (folder / "not-pem.pem").write_text("not a certificate\n")
    paths["not_pem"] = str(folder / "not-pem.pem")
    return paths
