#!/usr/bin/python
# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: consul_acl_token
short_description: Create, update or delete a Consul ACL token whose secret the caller chooses
version_added: 0.2.0
description:
  - The caller picks the secret (for example a UUID kept in a file on the controller), so the token can be handed
    out before it exists and a rerun never mints a new one.
  - The token's accessor ID is derived from the secret (a name-based UUID) unless O(accessor_id) is given; it
    identifies the token without revealing the secret.
  - Compares description, policies and locality and writes only on a difference. The secret is never returned
    or logged.
  - Needs a token allowed to write ACLs (C(acl = "write")), such as the bootstrap token.
author: sdstack maintainers (@sdstack)
extends_documentation_fragment:
  - sdstack.consul.consul
  - sdstack.consul.consul.object
options:
  secret_id:
    description: The token's secret, a UUID.
    type: str
    required: true
  accessor_id:
    description: The token's accessor ID, a UUID. Derived from O(secret_id) when not given.
    type: str
  description:
    description: Free text shown in the UI and API.
    type: str
    default: ""
  policies:
    description: Names of the policies linked to the token; they must exist.
    type: list
    elements: str
    default: []
  local:
    description: Valid in this datacenter only.
    type: bool
    default: false
  state:
    description: Whether the token should exist.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Token for Prometheus service discovery, secret kept on the controller
  sdstack.consul.consul_acl_token:
    url: https://127.0.0.1:8500
    ca_path: /etc/consul.d/tls/ca.pem
    token: "{{ consul_bootstrap_token }}"
    secret_id: "{{ lookup('ansible.builtin.file', 'secrets/acl/prometheus-sd.token') }}"
    description: Prometheus Consul SD
    policies: [prometheus-sd]
"""

RETURN = r"""
action:
  description: What was done (C(created), C(updated), C(deleted) or C(none)).
  returned: always
  type: str
token:
  description: The token as it is now (accessor_id, description, policies, local), never its secret.
  returned: always
  type: dict
"""

import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sdstack.consul.plugins.module_utils._acl_objects import AclToken
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulClient, ConsulError, connection_argspec


def _uuid_or_fail(module, option, value):
    try:
        return str(uuid.UUID(value))
    except ValueError:
        # The secret itself is never echoed.
        module.fail_json(msg="%s: not a UUID%s" % (option, "" if option == "secret_id" else ": %r" % value))
    return None


def main():
    module = AnsibleModule(
        argument_spec=connection_argspec(
            secret_id=dict(type="str", required=True, no_log=True),
            accessor_id=dict(type="str"),
            description=dict(type="str", default=""),
            policies=dict(type="list", elements="str", default=[]),
            local=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    secret = _uuid_or_fail(module, "secret_id", p["secret_id"].strip())
    accessor = _uuid_or_fail(module, "accessor_id", p["accessor_id"]) if p["accessor_id"] else None
    client = ConsulClient.from_module(module)
    token = AclToken(client, secret, accessor_id=accessor)
    token.desired = dict(accessor_id=token.accessor_id, description=p["description"],
                         policies=sorted(set(p["policies"])), local=p["local"])
    try:
        result = token.ensure(p["state"], module.check_mode)
    except ConsulError as e:
        module.fail_json(msg="token %s: %s" % (token.accessor_id, e))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
