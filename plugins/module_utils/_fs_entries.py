# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules that handle a list of paths in one run (``directories``, ``files``) share: each
entry's path, owner, group and mode options, and AnsibleModule's own reading of those attributes."""

from __future__ import annotations


def entry_options(**more):
    """The suboptions of one entry: an absolute path, its owner, group and mode, and ``more``."""
    return dict(path=dict(type="path", required=True), owner=dict(type="str"), group=dict(type="str"),
                mode=dict(type="str"), **more)


def attributes(module, entry, path):
    """The file arguments of ``entry``'s owner, group and mode for ``path`` (no SELinux context or
    file attributes), as set_fs_attributes_if_different takes them."""
    return module.load_file_common_arguments({"owner": entry.get("owner"), "group": entry.get("group"),
                                              "mode": entry.get("mode")}, path=path)
