# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read -> compare -> create/update/delete for one Consul object, with check mode and diff.

A module describes its object by subclassing ConsulObject; ``ensure`` does the rest the same
way for every object kind, so idempotence, check mode and --diff behave alike everywhere.
"""

from __future__ import annotations


class ConsulObject:
    """One object (a service, a key, ...) identified by ``ident``.

    Subclasses implement ``read`` (current normalised state or None), ``write`` (create or update
    to the desired state) and ``delete``; ``normalise`` maps a desired spec to the same shape
    ``read`` returns so that comparing is plain equality.
    """

    kind = "object"

    def __init__(self, client, ident, desired=None):
        self.client = client
        self.ident = ident
        self.desired = desired

    def read(self):
        raise NotImplementedError

    def write(self, desired):
        raise NotImplementedError

    def delete(self):
        raise NotImplementedError

    def same(self, current, desired):
        return current == desired

    def ensure(self, state, check_mode=False, current=None, known=False):
        """Returns a result dict: changed, action (created/updated/deleted/none), diff, and the object.

        ``known`` says ``current`` was already read (bulk callers read everything once).
        """
        if not known:
            current = self.read()
        if state == "absent":
            if current is None:
                return self._result(False, "none", current, None)
            if not check_mode:
                self.delete()
            return self._result(True, "deleted", current, None)
        if current is not None and self.same(current, self.desired):
            return self._result(False, "none", current, current)
        if not check_mode:
            self.write(self.desired)
        return self._result(True, "created" if current is None else "updated", current, self.desired)

    def _result(self, changed, action, before, after):
        return dict(changed=changed, action=action, id=self.ident, diff=dict(before=before or {}, after=after or {}),
                    **{self.kind: after})
