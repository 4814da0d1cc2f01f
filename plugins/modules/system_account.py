#!/usr/bin/python
# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: system_account
short_description: Make sure a system group and a system user in it exist, in one call
version_added: 0.4.0
description:
  - Creates the system group O(group) when it is missing, then the system user O(name) with that primary group, the
    home O(home) (never created) and the shell O(shell). A user that exists gets that primary group, home and shell
    when they differ; its ids are left as they are.
  - One module run where M(ansible.builtin.group) and M(ansible.builtin.user) take two, for the service accounts the
    roles run their daemons as (the roles' rerun cost, see docs/benchmarks.md).
  - Uses C(groupadd), C(useradd) and C(usermod) from shadow-utils, as Linux distributions ship them.
  - A name that is not a valid account name, or a home or shell that is not an absolute path, fails the module,
    naming the value, before anything is changed.
author: sdstack maintainers (@sdstack)
options:
  name:
    description: The user.
    type: str
    required: true
  group:
    description: Its primary group, made a system group when missing. The user's name when not given.
    type: str
  home:
    description: Its home folder, as written in the account; the module never creates it.
    type: path
    required: true
  shell:
    description: Its login shell.
    type: path
    default: /usr/sbin/nologin
attributes:
  check_mode:
    description: Reports what would be created or changed, without changing anything.
    support: full
  diff_mode:
    description: The group and the user's primary group, home and shell, before and after.
    support: full
"""

EXAMPLES = r"""
- name: Create the consul system group and user
  sdstack.consul.system_account:
    name: consul
    home: /opt/consul
"""

RETURN = r"""
name:
  description: The user.
  returned: always
  type: str
group:
  description: Its primary group.
  returned: always
  type: str
uid:
  description: The user's id; null in check mode when the user would be created.
  returned: always
  type: int
gid:
  description: The group's id; null in check mode when the group would be created.
  returned: always
  type: int
"""

import grp
import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule

# What useradd and groupadd accept by default on Debian and on the other major distributions.
NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def _refusal(params):
    for key in ("name", "group"):
        if not NAME.match(params[key]):
            return "%s %r is not an account name (lower-case letters, digits, _ and -, at most 32)" % (key, params[key])
    for key in ("home", "shell"):
        if not os.path.isabs(params[key]):
            return "%s %r is not an absolute path" % (key, params[key])
    return None


def _group(name):
    try:
        return grp.getgrnam(name)
    except KeyError:
        return None


def _user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _state(group, user):
    """The account as the diff shows it."""
    if user is None:
        return {"group": "present" if group else "absent", "user": "absent"}
    try:
        primary = grp.getgrgid(user.pw_gid).gr_name
    except KeyError:
        primary = str(user.pw_gid)
    return {"group": "present" if group else "absent", "user": "present", "primary_group": primary,
            "home": user.pw_dir, "shell": user.pw_shell}


def _run(module, cmd, what):
    rc, out, err = module.run_command(cmd)
    if rc != 0:
        module.fail_json(msg="system_account: %s failed (exit code %d): %s" % (what, rc, " ".join((err or out).split())))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            group=dict(type="str"),
            home=dict(type="path", required=True),
            shell=dict(type="path", default="/usr/sbin/nologin"),
        ),
        supports_check_mode=True,
    )
    p = dict(module.params)
    p["group"] = p["group"] or p["name"]
    why = _refusal(p)
    if why:
        module.fail_json(msg="system_account: %s; nothing was changed" % why)

    group, user = _group(p["group"]), _user(p["name"])
    before = _state(group, user)
    after = {"group": "present", "user": "present", "primary_group": p["group"], "home": p["home"],
             "shell": p["shell"]}
    changed = before != after
    if changed and not module.check_mode:
        if group is None:
            _run(module, [module.get_bin_path("groupadd", True), "--system", p["group"]],
                 "groupadd of group %s" % p["group"])
        if user is None:
            _run(module, [module.get_bin_path("useradd", True), "--system", "--gid", p["group"], "--home-dir", p["home"],
                          "--no-create-home", "--shell", p["shell"], p["name"]], "useradd of user %s" % p["name"])
        else:
            flags = []
            if before["primary_group"] != p["group"]:
                flags += ["--gid", p["group"]]
            if before["home"] != p["home"]:
                flags += ["--home", p["home"]]
            if before["shell"] != p["shell"]:
                flags += ["--shell", p["shell"]]
            _run(module, [module.get_bin_path("usermod", True)] + flags + [p["name"]], "usermod of user %s" % p["name"])
        group, user = _group(p["group"]), _user(p["name"])
    module.exit_json(changed=changed, name=p["name"], group=p["group"], uid=user.pw_uid if user else None,
                     gid=group.gr_gid if group else None,
                     diff={"before": before, "after": after} if changed else {})


if __name__ == "__main__":
    main()
