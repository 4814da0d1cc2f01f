# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACL policies and tokens as ConsulObjects (Consul's ACL system, 1.4 and later)."""

from __future__ import annotations

import uuid

from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulError, path_segment
from ansible_collections.sdstack.consul.plugins.module_utils._consul_object import ConsulObject

# Accessor IDs derived from a token's secret: a fixed namespace, so the same secret always
# names the same token, and the accessor (which is shown in logs) does not reveal the secret.
ACCESSOR_NAMESPACE = uuid.UUID("5d0b4c1e-8f5a-4f0e-9a57-3c0f6d1e2b7a")


def accessor_for(secret_id):
    return str(uuid.uuid5(ACCESSOR_NAMESPACE, secret_id))


def _absent(err):
    # Consul 1.8 answers a missing ACL object with 403 "ACL not found"; later releases with 404.
    return err.status == 404 or (err.status == 403 and "not found" in str(err.body or "").lower())


class AclPolicy(ConsulObject):
    kind = "policy"

    def __init__(self, client, name, desired=None):
        super().__init__(client, name, desired)
        self._id = None

    def read(self):
        listed = self.client.get("/v1/acl/policies").body or []
        match = [p for p in listed if p.get("Name") == self.ident]
        if not match:
            return None
        self._id = match[0]["ID"]
        body = self.client.get("/v1/acl/policy/" + path_segment(self._id)).body
        return dict(name=body["Name"], description=body.get("Description") or "", rules=body.get("Rules") or "")

    def write(self, desired):
        body = dict(Name=desired["name"], Description=desired["description"], Rules=desired["rules"])
        path = "/v1/acl/policy" + ("/" + path_segment(self._id) if self._id else "")
        self.client.put(path, body=body)

    def delete(self):
        self.client.request("DELETE", "/v1/acl/policy/" + path_segment(self._id))


class AclToken(ConsulObject):
    kind = "token"

    def __init__(self, client, secret_id, desired=None, accessor_id=None):
        self.accessor_id = accessor_id or accessor_for(secret_id)
        super().__init__(client, self.accessor_id, desired)
        self.secret_id = secret_id
        self._exists = False

    def read(self):
        try:
            body = self.client.get("/v1/acl/token/" + path_segment(self.accessor_id)).body
        except ConsulError as err:
            if _absent(err):
                self._exists = False
                return None
            raise
        self._exists = True
        if body.get("SecretID") not in (None, "", self.secret_id):
            raise ConsulError("token %s exists with another secret: a token's secret cannot change; delete it "
                              "or give its own secret" % self.accessor_id)
        return dict(accessor_id=body["AccessorID"], description=body.get("Description") or "",
                    policies=sorted(p["Name"] for p in body.get("Policies") or []), local=bool(body.get("Local")))

    def write(self, desired):
        body = dict(Description=desired["description"], Policies=[dict(Name=n) for n in desired["policies"]],
                    Local=desired["local"])
        # ensure() read the token just before: create it, or update the one it found.
        if not self._exists:
            body.update(AccessorID=self.accessor_id, SecretID=self.secret_id)
            self.client.put("/v1/acl/token", body=body)
        else:
            self.client.put("/v1/acl/token/" + path_segment(self.accessor_id), body=body)

    def delete(self):
        self.client.request("DELETE", "/v1/acl/token/" + path_segment(self.accessor_id))
