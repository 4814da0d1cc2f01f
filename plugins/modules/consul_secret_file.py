#!/usr/bin/python
# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: consul_secret_file
short_description: Write a new Consul secret to a file that does not exist yet
version_added: 0.3.0
description:
  - Writes a gossip encryption key (32 random bytes, base64, as C(consul keygen) makes) or an ACL token
    secret (a random UUID) to O(path), readable by its owner only.
  - Never replaces an existing file, so reruns and hosts added later keep the secrets of the first run.
    The file is created exclusively, so two runs racing for it cannot both write.
  - The secret is never returned; read the file where it is needed.
author: sdstack maintainers (@sdstack)
options:
  path:
    description: File to create; its folder must exist.
    type: path
    required: true
  kind:
    description: C(gossip) for a gossip encryption key, C(uuid) for an ACL token secret.
    type: str
    choices: [gossip, uuid]
    required: true
attributes:
  check_mode:
    description: Reports whether the file would be created, without writing it.
    support: full
  diff_mode:
    description: No diff; the secret is never shown.
    support: none
"""

EXAMPLES = r"""
- name: Create the gossip encryption key once
  sdstack.consul.consul_secret_file:
    path: /srv/consul-secrets/gossip.key
    kind: gossip
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
path:
  description: The secret's file.
  returned: always
  type: str
"""

import base64
import os
import uuid

from ansible.module_utils.basic import AnsibleModule


def new_secret(kind):
    """A fresh secret of ``kind``."""
    if kind == "gossip":
        return base64.b64encode(os.urandom(32)).decode()
    return str(uuid.uuid4())


def create(path, kind):
    """Write a new secret to ``path``; False when the file already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        os.write(fd, (new_secret(kind) + "\n").encode())
    finally:
        os.close(fd)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            kind=dict(type="str", choices=["gossip", "uuid"], required=True),
        ),
        supports_check_mode=True,
    )
    path, kind = module.params["path"], module.params["kind"]
    if os.path.lexists(path):
        module.exit_json(changed=False, path=path)
    if module.check_mode:
        module.exit_json(changed=True, path=path)
    try:
        changed = create(path, kind)
    except OSError as e:
        module.fail_json(msg="%s: cannot create the secret file: %s" % (path, e.strerror), path=path)
    module.exit_json(changed=changed, path=path)


if __name__ == "__main__":
    main()
