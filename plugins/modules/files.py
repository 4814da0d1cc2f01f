#!/usr/bin/python
# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: files
short_description: Write several files in one call, each validated before any of them replaces a live one
version_added: 0.4.0
description:
  - Writes each file of O(files) whose content differs from the live one, and sets the owner, group and mode given for
    each when they differ.
  - Every new content is first written next to its file and checked with the file's O(files[].validate) command. When
    any check fails, no file is replaced, and the module fails naming the files it refused.
  - One call for a list of files, so a role that writes several pays for one module run on the host instead of one per
    file (the roles' rerun cost, see docs/benchmarks.md).
  - A path that exists but is not a regular file, a relative path, a missing parent folder (outside check mode, where the
    file is then reported as new), or a O(files[].validate) without C(%s) fail the module, naming the value, before
    anything is written.
  - Give a task with secrets in its contents C(no_log), as for M(ansible.builtin.copy); it then shows no diff either.
author: sdstack maintainers (@sdstack)
options:
  files:
    description: The files, in the order they are written.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file; its folder must exist.
        type: path
        required: true
      content:
        description: The file's whole content.
        type: str
        required: true
      owner:
        description: Its owner (name or id); unchanged (or the caller's, for a new file) when not given.
        type: str
      group:
        description: Its group (name or id); unchanged (or the caller's, for a new file) when not given.
        type: str
      mode:
        description: Its mode, as an octal string such as C("0640"); unchanged (or the umask's, for a new file) when not given.
        type: str
      validate:
        description:
          - A command run on the new content before it goes live, C(%s) standing for the candidate file's path, as
            M(ansible.builtin.copy)'s O(ansible.builtin.copy#module:validate). Run only when the content changes.
        type: str
      label:
        description: A name returned with the file's result and in the failure message, such as the instance it belongs to.
        type: str
      backup:
        description:
          - Keep a copy of the file's previous content, with a time stamp in its name, when the content is replaced
            (as M(ansible.builtin.copy)'s O(ansible.builtin.copy#module:backup)); its path is the file result's
            RV(files[].backup_file), for a rollback.
        type: bool
        default: false
attributes:
  check_mode:
    description: Reports which files would change, without writing or validating anything.
    support: full
  diff_mode:
    description: The content of each file whose content changes, before and after, and any owner, group or mode change.
    support: full
"""

EXAMPLES = r"""
- name: Write each instance's configuration, validated
  sdstack.consul.files:
    files:
      - path: /etc/consul.d/node1/consul.json
        content: "{{ node1_config | to_nice_json }}"
        owner: root
        group: consul
        mode: "0640"
        validate: /usr/local/bin/consul validate -config-format=json %s
        label: node1
"""

RETURN = r"""
files:
  description: Each file with what this run did to it.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    label:
      description: Its O(files[].label), or null.
      type: str
    content_changed:
      description: Whether its content was (or, in check mode, would be) replaced.
      type: bool
    changed:
      description: Whether its content, owner, group or mode changed.
      type: bool
    backup_file:
      description: The copy of the previous content, with O(files[].backup) when the content was replaced.
      type: str
      returned: when a backup was made
invalid:
  description: On a failed validation, each refused file with the command's exit code and output.
  returned: failure
  type: list
  elements: dict
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible_collections.sdstack.consul.plugins.module_utils._fs_entries import attributes, entry_options


def _refusal(item, check_mode):
    """Why ``item`` cannot be written, or None. In check mode a missing folder is not one: a task
    before this one would have made it (and the file is reported as new)."""
    path = item["path"]
    if not os.path.isabs(path):
        return "%r is not an absolute path" % path
    if os.path.lexists(path) and not os.path.isfile(path):
        return "%s exists and is not a regular file" % path
    if not os.path.isdir(os.path.dirname(path)) and not (check_mode and not os.path.lexists(os.path.dirname(path))):
        return "the folder of %s does not exist" % path
    if item.get("validate") and "%s" not in item["validate"]:
        return "validate of %s must hold %%s for the candidate file: %r" % (path, item["validate"])
    return None


def _live(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _candidate(module, item, data):
    """Write ``data`` next to the file, with the file's owner, group and mode; return its path."""
    folder, name = os.path.split(item["path"])
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % name, suffix=".new")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    module.set_fs_attributes_if_different(attributes(module, item, tmp), False)
    return tmp


def _name(item):
    return item.get("label") or item["path"]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=entry_options(
                content=dict(type="str", required=True), validate=dict(type="str"), label=dict(type="str"),
                backup=dict(type="bool", default=False))),
        ),
        supports_check_mode=True,
    )
    items = module.params["files"]
    for item in items:
        why = _refusal(item, module.check_mode)
        if why:
            module.fail_json(msg="files: %s; nothing was changed" % why)

    plans = []
    for item in items:
        data, live = to_bytes(item["content"], errors="surrogate_or_strict"), _live(item["path"])
        plans.append({"item": item, "data": data, "live": live, "content_changed": live != data})

    candidates, invalid, backups = {}, [], {}
    try:
        if not module.check_mode:
            for plan in plans:
                if not plan["content_changed"]:
                    continue
                item = plan["item"]
                tmp = candidates[item["path"]] = _candidate(module, item, plan["data"])
                if item.get("validate"):
                    rc, out, err = module.run_command(item["validate"] % tmp)
                    if rc != 0:
                        invalid.append({"path": item["path"], "label": item.get("label"), "rc": rc,
                                        "stdout": out, "stderr": err})
            if invalid:
                reasons = " ".join(" ".join((i["stderr"] or i["stdout"] or "exit code %d" % i["rc"]).split())
                                   for i in invalid)
                module.fail_json(msg="files: validation refused the new content of %s (no file was changed): %s"
                                 % (", ".join(_name(i) for i in invalid), reasons), invalid=invalid)
            for plan in plans:
                if plan["item"]["path"] in candidates and plan["item"].get("backup") and plan["live"] is not None:
                    backups[plan["item"]["path"]] = module.backup_local(plan["item"]["path"])
            for path, tmp in list(candidates.items()):
                module.atomic_move(tmp, path)
                del candidates[path]
    finally:
        for tmp in candidates.values():
            if os.path.exists(tmp):
                os.unlink(tmp)

    results, diffs = [], []
    for plan in plans:
        item = plan["item"]
        diff = {"before_header": item["path"], "after_header": item["path"], "before": {}, "after": {}}
        changed = plan["content_changed"]
        if changed:
            diff["before"], diff["after"] = to_text(plan["live"] or b""), to_text(plan["data"])
        if os.path.exists(item["path"]) or not module.check_mode:
            changed = module.set_fs_attributes_if_different(attributes(module, item, item["path"]), changed,
                                                            diff=None if plan["content_changed"] else diff)
        results.append({"path": item["path"], "label": item.get("label"), "changed": changed,
                        "content_changed": plan["content_changed"]})
        if item["path"] in backups:
            results[-1]["backup_file"] = backups[item["path"]]
        if changed:
            diffs.append(diff)
    module.exit_json(changed=any(r["changed"] for r in results), files=results, diff=diffs)


if __name__ == "__main__":
    main()
