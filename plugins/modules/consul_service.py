#!/usr/bin/python
# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: consul_service
short_description: Register or deregister services (and their health checks) on a Consul agent
version_added: 0.1.0
description:
  - Registers a service on the agent that owns it, with tags, address, port, meta, weights and health checks, or
    removes it. Compares with what the agent reports and changes nothing when they already match.
  - Several services can be handled in one task with O(services) (two reads, then one write per changed service,
    all over one kept-alive connection to the agent); the result's RV(stats) counts and times what was done.
  - Agent endpoints are node-local, so exactly one O(url) is accepted, the agent that owns the services. Registering
    through a load balancer lands on whichever agent answers, and deregistering there leaves the service in place.
author: sdstack maintainers (@sdstack)
extends_documentation_fragment:
  - sdstack.consul.consul
  - sdstack.consul.consul.object
options:
  state:
    description: Whether the service(s) should be registered. In O(services) an element's own C(state) wins.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Service name (C(Name)). Required unless O(services) is used.
      - Warned about when it is not one DNS label (letters, digits, C(-)); such names are not served over Consul DNS.
    type: str
  id:
    description: Service ID, unique on the agent. Defaults to O(name).
    type: str
  tags:
    description: Tags (C(Tags)); Prometheus's Consul discovery exposes them as C(__meta_consul_tags).
    type: list
    elements: str
  address:
    description: Address of the service; empty uses the agent's node address.
    type: str
  port:
    description: Port of the service (0-65535).
    type: int
  meta:
    description:
      - String key/value metadata (C(Meta)); keys hold letters, digits, C(_) and C(-).
      - Prometheus exposes each as C(__meta_consul_service_metadata_<key>).
    type: dict
  enable_tag_override:
    description: Let anti-entropy keep tags changed in the catalog (C(EnableTagOverride)).
    type: bool
    default: false
  weights:
    description: DNS SRV weights when passing or warning (C(Weights)).
    type: dict
    suboptions:
      passing:
        description: Weight while all checks pass (at least 1).
        type: int
        default: 1
      warning:
        description: Weight while a check warns.
        type: int
        default: 1
  checks:
    description:
      - Health checks of the service; each needs exactly one of O(checks[].http), O(checks[].tcp),
        O(checks[].ttl) or O(checks[].grpc), and an O(checks[].interval) unless it is a TTL check.
      - Check IDs default to Consul's own (C(service:<id>) for one check, C(service:<id>:<n>) for several).
      - The module stores a digest of each check's definition in its C(Notes) (Consul 1.8 does not report check
        definitions back), so changing a URL or an interval is detected.
    type: list
    elements: dict
    suboptions:
      name:
        description: Check name. Defaults to Consul's C(Service '<name>' check).
        type: str
      check_id:
        description: Check ID.
        type: str
      http:
        description: URL to GET; 2xx passes, 429 warns, anything else fails.
        type: str
      tcp:
        description: C(host:port) to connect to.
        type: str
      ttl:
        description: Time to live of a check the service itself updates (for example V(30s)).
        type: str
      grpc:
        description: gRPC health endpoint (C(host:port/service)).
        type: str
      interval:
        description: How often to run the check (for example V(10s)).
        type: str
      timeout:
        description: Timeout of one check run.
        type: str
      deregister_critical_service_after:
        description: Deregister the service after the check has been critical this long.
        type: str
      method:
        description: HTTP method of an HTTP check.
        type: str
      header:
        description: Extra HTTP headers of an HTTP check (a value may be a string or a list).
        type: dict
      tls_skip_verify:
        description: Do not verify TLS certificates of an HTTPS check.
        type: bool
      notes:
        description: Free text for humans.
        type: str
  replace_existing_checks:
    description:
      - Remove the service's checks that are not in O(checks) when registering. Sent as
        C(replace-existing-checks=true), the value Consul honours (C(=1) keeps stale checks on Consul 1.8).
    type: bool
    default: true
  services:
    description:
      - Several services in one task. Each element takes the service options above (O(name), O(id), O(tags),
        O(address), O(port), O(meta), O(enable_tag_override), O(weights), O(checks)) and an optional C(state).
      - Everything is validated before the first write, so a bad element changes nothing.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Register node_exporter on the agent of the host that runs it (meta, tag, check and weights; DNS-safe name)
  sdstack.consul.consul_service:
    url: http://127.0.0.1:8500
    id: node-exporter
    name: node-exporter
    tags: [node-exporter]
    address: 172.30.12.100
    port: 9100
    meta: {app: spring-boot, team: appgroup, project: bigdata}
    weights: {passing: 10, warning: 1}
    checks:
      - http: http://172.30.12.100:9100/metrics
        interval: 10s

- name: Many services, one task
  sdstack.consul.consul_service:
    services: "{{ my_services }}"

- name: Deregister
  sdstack.consul.consul_service:
    id: node-exporter
    state: absent
"""

RETURN = r"""
service:
  description: The service as compared (agent field names), after the change; null when absent. Single form only.
  returned: when O(services) is not used
  type: dict
  sample: {"ID": "node-exporter", "Service": "node-exporter", "Tags": ["node-exporter"], "Port": 9100}
action:
  description: C(created), C(updated), C(deleted) or C(none). Single form only.
  returned: when O(services) is not used
  type: str
services:
  description: One result per element of O(services), in order, each with C(id), C(changed), C(action), C(service).
  returned: when O(services) is used
  type: list
  elements: dict
stats:
  description:
    - What the bulk form did, counted and timed. C(read) is the number of services the agent listed before the
      run (all of them, not only this task's); C(created), C(updated) and C(deleted) count the services written
      (in check mode, the ones that would be), C(written) is their sum, and C(unchanged) counts the elements
      the agent already had as given (or, for C(state=absent), already without them).
    - C(read_seconds) is the two reads, C(write_seconds) the pass that compares every element and sends the
      writes, C(module_seconds) the module's own run from the start of its C(main) until its result is
      built; it leaves out Python and Ansible starting the module before, AnsibleModule writing the result
      out after, and what Ansible does around a task.
  returned: when O(services) is used
  type: dict
  sample: {"read": 500, "written": 3, "created": 0, "updated": 2, "deleted": 1, "unchanged": 497,
           "read_seconds": 0.04, "write_seconds": 0.05, "module_seconds": 0.62}
"""

import time
from contextlib import contextmanager

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sdstack.consul.plugins.module_utils._agent_service import (
    AgentService,
    InvalidService,
    current_state,
    service_spec,
    validate,
)
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import (
    ConsulClient,
    ConsulError,
    connection_argspec,
)


def _bulk_element_spec():
    spec = service_spec(name_required=False)
    spec["state"] = dict(type="str", choices=["present", "absent"])
    return spec


class _Timer:
    """Seconds spent in named phases: ``with timer("write"): ...``."""

    def __init__(self):
        self.seconds = {}

    @contextmanager
    def __call__(self, phase):
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.monotonic() - t0


def checks_by_service(checks):
    """The agent's checks (ID -> check) grouped by service ID: each service then looks only at its own."""
    grouped = {}
    for check_id, check in checks.items():
        grouped.setdefault(check.get("ServiceID"), {})[check_id] = check
    return grouped


def bulk_stats(registered, results, timer, started):
    """What the bulk form did, counted and timed (RETURN's ``stats``)."""
    actions = [r["action"] for r in results]
    counts = {a: actions.count(a) for a in ("created", "updated", "deleted")}
    return dict(read=len(registered), written=sum(counts.values()), unchanged=actions.count("none"), **counts,
                read_seconds=round(timer.seconds.get("read", 0.0), 3),
                write_seconds=round(timer.seconds.get("write", 0.0), 3),
                module_seconds=round(time.monotonic() - started, 3))


def main():
    started = time.monotonic()
    spec = connection_argspec(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        replace_existing_checks=dict(type="bool", default=True),
        # Elements are checked against the same spec below, element by element, for messages that
        # name the element.
        services=dict(type="list", elements="dict"),
        **service_spec(name_required=False)
    )
    module = AnsibleModule(
        argument_spec=spec,
        mutually_exclusive=[("services", "name"), ("services", "id")],
        required_one_of=[("services", "name", "id")],
        supports_check_mode=True,
    )
    p = module.params
    if len(p["url"]) != 1:
        module.fail_json(msg="url: agent endpoints are node-local; give the one agent that owns the services "
                             "(got %d URLs)" % len(p["url"]))
    bulk = p["services"] is not None
    if bulk:
        items = []
        validator = ArgumentSpecValidator(_bulk_element_spec())
        for i, element in enumerate(p["services"]):
            checked = validator.validate(element)
            if checked.error_messages:
                module.fail_json(msg="services[%d]: %s" % (i, "; ".join(
                    ("unknown option " if type(e).__name__ == "UnsupportedError" else "") + str(e)
                    for e in checked.errors.errors)))
            items.append(checked.validated_parameters)
    else:
        items = [{k: p[k] for k in service_spec(False)}]

    # Validate everything before the first write.
    plan = []
    for i, svc in enumerate(items):
        state = svc.get("state") or p["state"]
        where = "services[%d]" % i if bulk else "service"
        if state == "present" and not svc.get("name"):
            module.fail_json(msg="%s: a service to register needs a name" % where)
        if state == "absent" and not (svc.get("id") or svc.get("name")):
            module.fail_json(msg="%s: give the id (or name) of the service to deregister" % where)
        if state == "present":
            try:
                for w in validate(svc):
                    module.warn(w)
            except InvalidService as e:
                module.fail_json(msg="%s: %s" % (where, e))
        plan.append((svc, state))
    ids = [svc.get("id") or svc.get("name") for svc, _state in plan]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        module.fail_json(msg="services: id(s) given twice: %s" % ", ".join(dupes))

    # One connection for the whole run: the bulk form sends up to one write per service (docs/adr/0001).
    client = ConsulClient.from_module(module, keep_alive=True)
    results = []
    timer = _Timer()
    try:
        # Two reads for any number of services; then a write per service that differs.
        with timer("read"):
            registered = client.get("/v1/agent/services").body or {}
            checks = checks_by_service(client.get("/v1/agent/checks").body or {})
        with timer("write"):
            for svc, state in plan:
                obj = AgentService(client, svc, p["replace_existing_checks"])
                current = current_state(registered.get(obj.ident), checks.get(obj.ident, {}))
                try:
                    results.append(obj.ensure(state, module.check_mode, current, known=True))
                except ConsulError as e:
                    module.fail_json(msg="service %s: %s" % (obj.ident, e), services=results)
    except ConsulError as e:
        module.fail_json(msg=str(e), services=results)
    finally:
        client.close()

    changed = any(r["changed"] for r in results)
    if bulk:
        diff = dict(before={r["id"]: r["diff"]["before"] for r in results if r["changed"]},
                    after={r["id"]: r["diff"]["after"] for r in results if r["changed"]})
        module.exit_json(changed=changed, services=[{k: v for k, v in r.items() if k != "diff"} for r in results],
                         diff=diff, stats=bulk_stats(registered, results, timer, started))
    r = results[0]
    module.exit_json(changed=changed, service=r["service"], action=r["action"], id=r["id"], diff=r["diff"])


if __name__ == "__main__":
    main()
