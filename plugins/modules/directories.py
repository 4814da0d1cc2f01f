#!/usr/bin/python
# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: directories
short_description: Make sure several directories exist, each with its owner, group and mode, in one call
version_added: 0.4.0
description:
  - Creates each missing directory of O(paths) (with its missing parents, as M(ansible.builtin.file) does) and sets
    the owner, group and mode given for it when they differ.
  - One call for a list of directories, so a role that needs several pays for one module run on the host instead of
    one per directory (the roles' rerun cost, see docs/benchmarks.md).
  - A path that exists but is not a directory fails the module, naming it, before anything is changed.
author: sdstack maintainers (@sdstack)
options:
  paths:
    description: The directories, in the order they are made.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      owner:
        description: Its owner (name or id); unchanged when not given.
        type: str
      group:
        description: Its group (name or id); unchanged when not given.
        type: str
      mode:
        description: Its mode, as an octal string such as C("0750"); unchanged when not given.
        type: str
attributes:
  check_mode:
    description: Reports which directories would be created or changed, without changing them.
    support: full
  diff_mode:
    description: The state, owner, group and mode of each directory that changes, before and after.
    support: full
"""

EXAMPLES = r"""
- name: Create the configuration and data folders
  sdstack.consul.directories:
    paths:
      - {path: /etc/consul.d, owner: root, group: consul, mode: "0750"}
      - {path: /opt/consul/node1, owner: consul, group: consul, mode: "0750"}
"""

RETURN = r"""
paths:
  description: Each directory with what this run did to it.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The directory.
      type: str
    created:
      description: Whether it was missing (and created, unless in check mode).
      type: bool
    changed:
      description: Whether it was created or its owner, group or mode set.
      type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sdstack.consul.plugins.module_utils._fs_entries import attributes, entry_options


def ensure(module, item, check_mode):
    """Create ``item``'s directory when missing and set its attributes; returns (created, changed, diff)."""
    path = item["path"]
    created = not os.path.lexists(path)
    diff = {"before": {"path": path, "state": "absent" if created else "directory"},
            "after": {"path": path, "state": "directory"}}
    if created:
        if check_mode:
            return True, True, diff
        os.makedirs(path)
    changed = module.set_fs_attributes_if_different(attributes(module, item, path), created, diff=diff)
    return created, changed, diff


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="dict", required=True, options=entry_options()),
        ),
        supports_check_mode=True,
    )
    items = module.params["paths"]
    # Refused before anything changes: a relative path, or one that is something else than a directory.
    for item in items:
        path = item["path"]
        if not os.path.isabs(path):
            module.fail_json(msg="directories: %r is not an absolute path; nothing was changed" % path)
        if os.path.lexists(path) and not os.path.isdir(path):
            module.fail_json(msg="directories: %s exists and is not a directory; nothing was changed" % path)
    results, diffs = [], []
    for item in items:
        try:
            created, changed, diff = ensure(module, item, module.check_mode)
        except OSError as e:
            module.fail_json(msg="directories: %s: %s" % (item["path"], e.strerror or e), paths=results)
        results.append({"path": item["path"], "created": created, "changed": changed})
        if changed:
            diffs.append(diff)
    module.exit_json(changed=any(r["changed"] for r in results), paths=results, diff=diffs)


if __name__ == "__main__":
    main()
