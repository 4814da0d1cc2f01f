"""What the prometheus scenario's tests share: the host, its expected job, and independent
views of the running server (Prometheus's HTTP API through `requests`, testinfra over podman exec)."""

import time
from pathlib import Path

import requests
import testinfra
import yaml
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

HOST = "prom1"
ADDR = "10.89.20.41"
API = "http://%s:9090" % ADDR
PLAYBOOK = Path(__file__).resolve().parents[1] / "prometheus.yml"
CONFIG = "/etc/prometheus/prometheus.yml"
# The scenario's job (molecule.yml) and the meta node_exporter registers with.
JOB = {"job_name": "consul-node-exporter", "servers": ["%s:8500" % ADDR], "tags_regex": ".*node-exporter.*",
       "scrape_interval": "5s"}
META = {"app": "spring-boot", "team": "appgroup", "project": "bigdata"}

# testinfra over `podman exec`: the same checks as the ansible backend, without a playbook per call.
HOST_IO = testinfra.get_host("podman://" + HOST)
HTTP = requests.Session()
HTTP.trust_env = False  # lab addresses only, never through a proxy
# No kept-alive connections: the restart tests replace the server process behind them.
HTTP.headers["Connection"] = "close"
# The shared lab drops new connections for a few seconds now and then (other scenarios' hosts
# come and go on the same bridge): retry connecting, with backoff, for up to ~30s.
HTTP.mount("http://", HTTPAdapter(max_retries=Retry(total=6, connect=6, read=1, backoff_factor=0.5,
                                                    allowed_methods=["GET"])))


def on_host(script):
    return HOST_IO.check_output(script)


def main_pid():
    return int(on_host("systemctl show -p MainPID --value prometheus").strip())


def loaded_config():
    """The configuration the running server has loaded (not the file on disk)."""
    return yaml.safe_load(HTTP.get(API + "/api/v1/status/config", timeout=5).json()["data"]["yaml"])


def metric(name):
    for line in HTTP.get(API + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric %s" % name)


def wait_for_target(job, timeout=60):
    """The job's active target once it is up, polling until the deadline."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        seen = [t for t in HTTP.get(API + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
                if t["labels"].get("job") == job]
        if seen and all(t["health"] == "up" for t in seen):
            return seen
        time.sleep(0.5)
    raise AssertionError("no healthy target of job %s after %ds: %r" % (job, timeout, seen))
