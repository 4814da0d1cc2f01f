"""Gossip encryption with the controller's key, TLS on RPC and the HTTPS API."""

import json
import socket
import ssl

import pytest
import requests

from conftest import ADDR, CA, MEMBERS, PORTS, SECRETS, get, token


def test_controller_secrets_are_private():
    assert (SECRETS.stat().st_mode & 0o777) == 0o700
    for f in ["gossip.key", "tls/ca-key.pem", "acl/bootstrap.token", "acl/agent.token"]:
        assert ((SECRETS / f).stat().st_mode & 0o777) == 0o600, f


def test_every_instance_uses_the_controllers_gossip_key(box):
    key = (SECRETS / "gossip.key").read_text().strip()
    for node in PORTS:
        f = box.file("/etc/consul.d/%s/secrets.json" % node)
        assert (f.user, f.group, f.mode) == ("root", "consul", 0o640)
        assert json.loads(f.content_string)["encrypt"] == key
        # The key is not in the file that diffs and logs may show.
        assert key not in box.file("/etc/consul.d/%s/consul.json" % node).content_string
    ring = get("/v1/operator/keyring", token("bootstrap")).json()
    lan = [r for r in ring if not r["WAN"]][0]
    # One key in use, by every LAN member (three servers and the client agent): the controller's.
    assert lan["Keys"] == {key: MEMBERS}, lan


def test_rpc_and_https_verified_with_the_cluster_ca(box):
    cfg = json.loads(box.file("/etc/consul.d/node1/consul.json").content_string)
    for k in ["verify_incoming_rpc", "verify_outgoing", "verify_server_hostname"]:
        assert cfg[k] is True, k
    assert cfg["ports"]["http"] == -1 and cfg["ports"]["https"] == 8500
    # The server certificate names what servers check on each other, and its address.
    ctx = ssl.create_default_context(cafile=CA)
    with socket.create_connection((ADDR, 8500), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="server.dc1.consul") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    for port in PORTS.values():
        assert get("/v1/status/leader", port=port).status_code == 200
    # Plain HTTP is off, and a client that does not trust the cluster's CA refuses the servers.
    plain = requests.get("http://%s:8500/v1/status/leader" % ADDR, timeout=5)
    assert plain.status_code == 400 and "HTTPS server" in plain.text, plain.text
    with pytest.raises(requests.exceptions.SSLError):
        requests.get("https://%s:8500/v1/status/leader" % ADDR, timeout=5)
    key = box.file("/etc/consul.d/tls/server-key.pem")
    assert (key.user, key.group, key.mode) == ("root", "consul", 0o640)
    assert not box.file("/etc/consul.d/tls/ca-key.pem").exists


def rpc_tls(cert=None, rpc_type=b"\x00"):
    """Open Consul's RPC port as a TLS client (marker byte 3 first), send the inner RPC type byte
    (0: Consul's own RPC) and read: "waiting" while the server waits for a request, b"" if it
    closed the connection."""
    ctx = ssl.create_default_context(cafile=CA)
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(*cert)
    with socket.create_connection((ADDR, 8300), timeout=5) as raw:
        raw.sendall(b"\x03")
        with ctx.wrap_socket(raw, server_hostname="server.dc1.consul") as tls:
            tls.sendall(rpc_type)
            try:
                return tls.recv(1)
            except socket.timeout:
                return "waiting"


def test_server_rpc_port_demands_a_client_certificate():
    # verify_incoming_rpc: without a certificate of the cluster's CA the server aborts the TLS
    # session (an alert, not a timeout); with one (a server's) it keeps listening.
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        rpc_tls()
    certs = SECRETS / "tls" / "certs"
    # An empty read would mean the server hung up on us: with a good certificate it must wait for
    # the RPC request instead.
    assert rpc_tls((str(certs / "secure1.pem"), str(certs / "secure1-key.pem"))) == "waiting"
