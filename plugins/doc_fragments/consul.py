# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every Consul module of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL(s) of one or more Consul agents' HTTP API, for example V(http://127.0.0.1:8500).
      - With several, each request goes to the first that answers; an unreachable agent is skipped, an HTTP error
        from a reachable one is not (it is the cluster's answer).
      - Agent endpoints are node-local. For agent-scoped modules give the agent that owns the object, never a load
        balancer.
    type: list
    elements: str
    default: [http://127.0.0.1:8500]
  token:
    description:
      - ACL token sent as C(X-Consul-Token). Never logged.
      - Defaults to the E(CONSUL_HTTP_TOKEN) environment variable of the process that runs the module.
    type: str
  ca_path:
    description: CA bundle used to verify the agents' TLS certificates.
    type: path
  client_cert:
    description: Client certificate (PEM) for agents that verify incoming HTTPS connections.
    type: path
  client_key:
    description: Private key (PEM) of O(client_cert).
    type: path
  validate_certs:
    description: Verify the agents' TLS certificates. Turn off only for throw-away test clusters.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for one HTTP request.
    type: float
    default: 10
notes:
  - Talks HTTP through ansible-core's own helpers; the host that runs the module needs no Python Consul client.
  - All options of this fragment can be set once for every Consul module with
    C(module_defaults) and the action group C(group/sdstack.consul.consul).
"""

    # Modules that read an object, compare it and write only a difference (module_utils/_consul_object).
    OBJECT = r"""
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: full
    description: Shows the object before and after (secrets left out).
"""
