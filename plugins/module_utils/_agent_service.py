# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Agent services: option spec, validation, the payload Consul expects, and the comparison.

Consul 1.8's agent returns services with their fields but checks without their definitions
(``Definition: {}``). To stay idempotent there too, each check's definition digest travels in
its ``Notes`` (which the agent does return); a changed URL or interval changes the digest.
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.sdstack.consul.plugins.module_utils._addresses import is_address
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import path_segment
from ansible_collections.sdstack.consul.plugins.module_utils._consul_object import ConsulObject

CHECK_KINDS = ("http", "tcp", "ttl", "grpc")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_META_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# One DNS label: what Consul can serve as <name>.service.consul.
_DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# Consul's own limits on service meta (agent/structs); checked here so that a bulk task fails
# before its first write instead of half-way with Consul's HTTP 400.
_META_MAX_PAIRS = 64
_META_MAX_VALUE = 512
_META_RESERVED_PREFIX = "consul-"

CHECK_SPEC = dict(
    name=dict(type="str"),
    check_id=dict(type="str"),
    http=dict(type="str"),
    tcp=dict(type="str"),
    ttl=dict(type="str"),
    grpc=dict(type="str"),
    interval=dict(type="str"),
    timeout=dict(type="str"),
    deregister_critical_service_after=dict(type="str"),
    method=dict(type="str"),
    header=dict(type="dict"),
    tls_skip_verify=dict(type="bool"),
    notes=dict(type="str"),
)

# no_log=False: "passing" is a weight, not a password.
WEIGHTS_SPEC = dict(passing=dict(type="int", default=1, no_log=False), warning=dict(type="int", default=1))


def service_spec(name_required):
    return dict(
        name=dict(type="str", required=name_required),
        id=dict(type="str"),
        tags=dict(type="list", elements="str"),
        address=dict(type="str"),
        port=dict(type="int"),
        meta=dict(type="dict"),
        enable_tag_override=dict(type="bool", default=False),
        weights=dict(type="dict", options=WEIGHTS_SPEC),
        checks=dict(type="list", elements="dict", options=CHECK_SPEC),
    )


class InvalidService(ValueError):
    pass


def validate(svc):
    """Raises InvalidService naming the service and the bad value; returns warnings."""
    name = svc["name"]
    where = "service %s" % (svc.get("id") or name)
    if not name or not name.strip():
        raise InvalidService("a service needs a non-empty name")
    port = svc.get("port")
    if port is not None and not 0 <= port <= 65535:
        raise InvalidService("%s: port %d is not in 0-65535" % (where, port))
    address = svc.get("address")
    if address and not is_address(address, underscore=True):
        raise InvalidService("%s: address %r is neither an IP address nor a host name" % (where, str(address)))
    meta = svc.get("meta") or {}
    if len(meta) > _META_MAX_PAIRS:
        raise InvalidService("%s: meta has %d keys, Consul allows %d" % (where, len(meta), _META_MAX_PAIRS))
    for key, value in meta.items():
        if not _META_KEY.match(str(key)):
            raise InvalidService("%s: meta key %r may hold only letters, digits, '_' and '-' (1-128)" % (where, key))
        if str(key).startswith(_META_RESERVED_PREFIX):
            raise InvalidService("%s: meta key %r: the prefix %r is reserved for Consul"
                                 % (where, key, _META_RESERVED_PREFIX))
        if not isinstance(value, str):
            raise InvalidService("%s: meta %s must be a string, got %r" % (where, key, value))
        if len(value) > _META_MAX_VALUE:
            raise InvalidService("%s: meta %s is %d characters long, Consul allows %d"
                                 % (where, key, len(value), _META_MAX_VALUE))
    w = svc.get("weights") or {}
    if w and (w.get("passing", 1) < 1 or w.get("warning", 1) < 0):
        raise InvalidService("%s: weights need passing >= 1 and warning >= 0" % where)
    for i, chk in enumerate(svc.get("checks") or []):
        _validate_check(chk, "%s check %s" % (where, chk.get("name") or i + 1))
    warnings = []
    if not _DNS_LABEL.match(name):
        warnings.append("%s: name %r is not DNS-safe (use letters, digits and '-'; no dots): Consul cannot serve it "
                        "as %s.service.consul" % (where, name, name))
    return warnings


def _validate_check(chk, where):
    kinds = [k for k in CHECK_KINDS if chk.get(k)]
    if len(kinds) != 1:
        raise InvalidService("%s: give exactly one of %s (got %s)" % (where, ", ".join(CHECK_KINDS),
                                                                      ", ".join(kinds) or "none"))
    for opt in ("interval", "timeout", "deregister_critical_service_after", "ttl"):
        if chk.get(opt) and not _DURATION.match(chk[opt]):
            raise InvalidService("%s: %s %r is not a duration like 10s, 1m30s or 500ms" % (where, opt, chk[opt]))
    if kinds[0] != "ttl" and not chk.get("interval"):
        raise InvalidService("%s: a %s check needs an interval" % (where, kinds[0]))
    # Consul accepts both at registration; the check would then fail forever with a Go error.
    if kinds[0] == "http" and not re.match(r"^https?://[^/\s]+", chk["http"]):
        raise InvalidService("%s: http %r is not an http:// or https:// URL" % (where, chk["http"]))
    if kinds[0] == "tcp" and not _is_host_port(chk["tcp"]):
        raise InvalidService("%s: tcp %r is not host:port with a port in 1-65535" % (where, chk["tcp"]))


def _is_host_port(value):
    host, sep, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return bool(sep and host and port.isdigit() and 1 <= int(port) <= 65535 and is_address(host, underscore=True))


def desired_state(svc):
    """The service as the agent reports it (/v1/agent/services), plus its checks as compared."""
    sid = svc.get("id") or svc["name"]
    w = svc.get("weights") or {}
    checks = svc.get("checks") or []
    return dict(
        ID=sid,
        Service=svc["name"],
        Tags=list(svc.get("tags") or []),
        Meta=dict(svc.get("meta") or {}),
        Port=svc.get("port") or 0,
        Address=svc.get("address") or "",
        Weights=dict(Passing=w.get("passing", 1), Warning=w.get("warning", 1)),
        EnableTagOverride=bool(svc.get("enable_tag_override")),
        Checks=[_check_state(sid, svc["name"], c, i, len(checks)) for i, c in enumerate(checks)],
    )


def _check_state(sid, name, chk, index, count):
    definition = {k: chk.get(k) for k in sorted(CHECK_SPEC) if chk.get(k) not in (None, "", {})}
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:12]
    notes = ((chk.get("notes") or "") + " [sdstack.consul def:%s]" % digest).strip()
    kind = next(k for k in CHECK_KINDS if chk.get(k))
    # Consul's own default IDs and names, made explicit so reads compare exactly.
    check_id = chk.get("check_id") or ("service:%s" % sid if count == 1 else "service:%s:%d" % (sid, index + 1))
    return dict(CheckID=check_id, Name=chk.get("name") or "Service '%s' check" % name, Type=kind, Notes=notes,
                _definition=definition)


def current_state(service, checks):
    """Normalise /v1/agent/services[id] and that service's entries of /v1/agent/checks."""
    if service is None:
        return None
    own = sorted((c for c in checks.values() if c.get("ServiceID") == service["ID"]), key=lambda c: c["CheckID"])
    return dict(
        ID=service["ID"], Service=service["Service"], Tags=list(service.get("Tags") or []),
        Meta=dict(service.get("Meta") or {}), Port=service.get("Port") or 0, Address=service.get("Address") or "",
        Weights=dict(service.get("Weights") or {"Passing": 1, "Warning": 1}),
        EnableTagOverride=bool(service.get("EnableTagOverride")),
        Checks=[dict(CheckID=c["CheckID"], Name=c.get("Name", ""), Type=c.get("Type", ""), Notes=c.get("Notes", ""))
                for c in own],
    )


def _public(state):
    """What results and diffs show: the compared fields, without internals."""
    if state is None:
        return None
    out = dict(state)
    out["Checks"] = [{k: v for k, v in c.items() if not k.startswith("_")} for c in state["Checks"]]
    return out


class AgentService(ConsulObject):
    kind = "service"

    def __init__(self, client, svc, replace_existing_checks=True):
        self.spec = svc
        self.replace_existing_checks = replace_existing_checks
        desired = desired_state(svc) if svc.get("name") else None
        super().__init__(client, svc.get("id") or svc.get("name"), desired)

    def read(self):
        resp = self.client.get("/v1/agent/service/" + path_segment(self.ident), ok=(200, 404))
        if resp.status == 404:
            return None
        checks = self.client.get("/v1/agent/checks").body or {}
        return current_state(resp.body, checks)

    def same(self, current, desired):
        # The agent lists a service's checks by ID (current_state), not in the order they were given.
        ordered = dict(desired, Checks=sorted(desired["Checks"], key=lambda c: c["CheckID"]))
        return _public(current) == _public(ordered)

    def write(self, desired):
        body = dict(ID=desired["ID"], Name=desired["Service"], Tags=desired["Tags"], Meta=desired["Meta"],
                    Port=desired["Port"], Address=desired["Address"], Weights=desired["Weights"],
                    EnableTagOverride=desired["EnableTagOverride"],
                    Checks=[_check_payload(c) for c in desired["Checks"]])
        # Consul 1.8 honours only "true" or a bare flag here; "=1" keeps stale checks (docs/adr/0006).
        params = {"replace-existing-checks": "true"} if self.replace_existing_checks else None
        self.client.put("/v1/agent/service/register", body=body, params=params)

    def delete(self):
        self.client.put("/v1/agent/service/deregister/" + path_segment(self.ident))

    def _result(self, changed, action, before, after):
        return super()._result(changed, action, _public(before), _public(after))


def _check_payload(check):
    d = check["_definition"]
    payload = dict(CheckID=check["CheckID"], Name=check["Name"], Notes=check["Notes"])
    names = dict(http="HTTP", tcp="TCP", ttl="TTL", grpc="GRPC", interval="Interval", timeout="Timeout",
                 deregister_critical_service_after="DeregisterCriticalServiceAfter", method="Method",
                 header="Header", tls_skip_verify="TLSSkipVerify")
    for opt, key in names.items():
        if opt in d:
            payload[key] = d[opt]
    if "Header" in payload:
        # Consul wants every header's values as a list.
        payload["Header"] = {k: v if isinstance(v, list) else [v] for k, v in payload["Header"].items()}
    return payload
