"""tasks/agent_service.yml, templated as a play would: one consul-agent service per instance, on
that instance's own API (own scheme, address and HTTP port), labelled by its node name."""

import pytest

# collection_loader is an autouse fixture, used by name.
from test_consul_role_wiring import _render, _task, collection_loader, templar  # noqa: F401  pylint: disable=unused-import

TASK = "Register each agent as service consul-agent on its own API"


@pytest.mark.parametrize("over,scheme", [({}, "http"), (dict(consul_tls=True), "https")])
def test_each_instance_registers_on_its_own_api_with_its_own_port(over, scheme):
    t = templar("10.89.20.31", "/secrets", **over)
    task = _task("agent_service.yml", TASK)
    args = task["sdstack.consul.consul_service"]
    got = {}
    for item in _render(t, task["loop"]):
        rendered = {k: _render(t, v, item=item) if isinstance(v, str) else v for k, v in args.items()}
        rendered["meta"] = {k: _render(t, v, item=item) for k, v in args["meta"].items()}
        rendered["check"] = _render(t, args["checks"][0]["tcp"], item=item)
        got[item["name"]] = rendered
    assert {n: (g["url"], int(g["port"]), g["meta"]["node"], g["check"]) for n, g in got.items()} == {
        "node1": ("%s://10.89.20.31:8500" % scheme, 8500, "node1", "10.89.20.31:8500"),
        "node2": ("%s://10.89.20.31:8510" % scheme, 8510, "node2", "10.89.20.31:8510"),
        "node3": ("%s://10.89.20.31:8520" % scheme, 8520, "node3", "10.89.20.31:8520"),
    }
    assert {g["name"] for g in got.values()} == {"consul-agent"}
    assert {g["address"] for g in got.values()} == {"10.89.20.31"}


def test_registration_runs_after_the_agents_are_up_in_the_roles_api_defaults():
    main = _task("main.yml", "Start the instances and restart the changed ones")
    includes = [t.get("ansible.builtin.include_tasks") for t in main["block"]]
    assert includes == ["service.yml", "agent_service.yml"]
    assert set(main["module_defaults"]["group/sdstack.consul.consul"]) == {"token", "ca_path"}


def test_the_metrics_token_reads_agents_only():
    block = _task("acl_tokens.yml", "Create the agent metrics token of Prometheus")
    assert block["vars"]["_consul_metrics_token_name"] == "consul-agent-metrics"
    policy = [t for t in block["block"] if "sdstack.consul.consul_acl_policy" in t][0]
    assert policy["sdstack.consul.consul_acl_policy"]["rules"].strip() == 'agent_prefix "" { policy = "read" }'
