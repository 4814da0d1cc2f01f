"""The multi-datacenter verifier's WAN view (sdstack_molecule.wan_checks), on what Consul 1.8.7
answered to the unit tests' recorded federation (tests/unit/fixtures/consul_1.8.7/cassettes)."""

import json
from pathlib import Path

import yaml

from sdstack_molecule.wan_checks import federated, wan_pool

CASSETTES = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "consul_1.8.7" / "cassettes" / "test_consul_raft_wan"
FACTS = json.loads((CASSETTES.parent / "wan_federation.json").read_text())
EXPECTED = {"dc1": ["node1"], "dc2": ["node1", "node2", "node3"]}


def answer(cassette, path):
    """The recorded body of the first request to ``path`` (with its query) in a cassette."""
    for i in yaml.safe_load((CASSETTES / cassette).read_text())["interactions"]:
        if i["request"]["uri"].split("/", 3)[3] == path.lstrip("/"):
            return json.loads(i["response"]["body"]["string"])
    raise KeyError(path)


def test_the_pool_names_nodes_per_datacenter_without_the_wan_suffix():
    pool = wan_pool(answer("test_a_federation_with_every_server_alive_and_both_leaders_passes.yaml",
                           "/v1/agent/members?wan=1"))
    assert pool == {"dc1": {"node1": "alive"}, "dc2": {"node1": "alive", "node2": "alive", "node3": "alive"}}


def test_a_whole_federation_has_nothing_missing():
    cassette = "test_a_federation_with_every_server_alive_and_both_leaders_passes.yaml"
    leaders = {dc: answer(cassette, "/v1/status/leader?dc=" + dc) for dc in EXPECTED}
    assert federated(wan_pool(answer(cassette, "/v1/agent/members?wan=1")), leaders, EXPECTED) == []


def test_a_crashed_server_is_named_with_its_status():
    victim, status = FACTS["dc2_one_down_victim"], FACTS["dc2_one_down_victim_status"]
    pool = wan_pool(answer("test_a_crashed_server_is_named_with_its_wan_status_while_its_datacenter_keeps_a_leader"
                           ".yaml", "/v1/agent/members?wan=1"))
    leaders = {"dc1": "127.0.0.1:18360", "dc2": "127.0.0.2:18370"}
    assert federated(pool, leaders, EXPECTED) == ["dc2: %s %s" % (victim, status)]


def test_a_lost_datacenter_names_every_server_and_its_missing_leader():
    pool = wan_pool(answer("test_a_lost_datacenter_fails_the_any_server_form_too.yaml", "/v1/agent/members?wan=1"))
    missing = federated(pool, {"dc1": "127.0.0.1:18360", "dc2": "HTTP 500: No path to datacenter"}, EXPECTED)
    assert missing == ["dc2: " + ", ".join("%s %s" % (n, FACTS["dc2_down_status"][n]) for n in EXPECTED["dc2"]),
                       "dc2: no leader (HTTP 500: No path to datacenter)"]


def test_a_client_agents_null_is_an_empty_pool():
    assert wan_pool(answer("test_a_client_agent_knows_no_wan_members.yaml", "/v1/agent/members?wan=1")) == {}
    assert federated({}, {}, {"dc1": ["node1"]}) == ["dc1: node1 absent", "dc1: no leader"]
