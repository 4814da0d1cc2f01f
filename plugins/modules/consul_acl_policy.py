#!/usr/bin/python
# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: consul_acl_policy
short_description: Create, update or delete a Consul ACL policy
version_added: 0.2.0
description:
  - Finds the policy by name, compares its description and rules, and writes only on a difference.
  - Needs a token allowed to write ACLs (C(acl = "write")), such as the bootstrap token.
author: sdstack maintainers (@sdstack)
extends_documentation_fragment:
  - sdstack.consul.consul
  - sdstack.consul.consul.object
options:
  name:
    description: Policy name; unique in the datacenter.
    type: str
    required: true
  rules:
    description: Policy rules in HCL or JSON, compared as text. Required to create a policy.
    type: str
  description:
    description: Free text shown in the UI and API.
    type: str
    default: ""
  state:
    description: Whether the policy should exist.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Read-only access for Prometheus service discovery
  sdstack.consul.consul_acl_policy:
    url: https://127.0.0.1:8500
    ca_path: /etc/consul.d/tls/ca.pem
    token: "{{ consul_bootstrap_token }}"
    name: prometheus-sd
    rules: |
      service_prefix "" { policy = "read" }
      node_prefix "" { policy = "read" }
"""

RETURN = r"""
action:
  description: What was done (C(created), C(updated), C(deleted) or C(none)).
  returned: always
  type: str
policy:
  description: The policy as it is now (name, description, rules); empty when absent.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sdstack.consul.plugins.module_utils._acl_objects import AclPolicy
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulClient, ConsulError, connection_argspec


def main():
    module = AnsibleModule(
        argument_spec=connection_argspec(
            name=dict(type="str", required=True),
            rules=dict(type="str"),
            description=dict(type="str", default=""),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "present" and not (p["rules"] or "").strip():
        module.fail_json(msg="rules: policy %r needs rules to exist" % p["name"])
    client = ConsulClient.from_module(module)
    desired = dict(name=p["name"], description=p["description"], rules=p["rules"] or "")
    try:
        result = AclPolicy(client, p["name"], desired).ensure(p["state"], module.check_mode)
    except ConsulError as e:
        module.fail_json(msg="policy %s: %s" % (p["name"], e))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
