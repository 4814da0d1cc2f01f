# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP client for the collection's Consul modules, on ansible.module_utils.urls.

Errors surface as ConsulError with a one-line message; modules turn it into fail_json.
"""

from __future__ import annotations

import json
import os

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import open_url

from ansible_collections.sdstack.consul.plugins.module_utils._keep_alive import KeepAliveOpener

CONNECTION_ARGSPEC = dict(
    url=dict(type="list", elements="str", default=["http://127.0.0.1:8500"]),
    token=dict(type="str", no_log=True, fallback=(lambda: os.environ.get("CONSUL_HTTP_TOKEN"),)),
    ca_path=dict(type="path"),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="float", default=10),
)


def connection_argspec(**extra):
    """The shared connection options plus a module's own."""
    spec = dict(CONNECTION_ARGSPEC)
    spec.update(extra)
    return spec


class ConsulError(Exception):
    """A failure worth one line to the operator."""

    def __init__(self, msg, status=None, body=None):
        super().__init__(msg)
        self.status = status
        self.body = body


class Response:
    def __init__(self, status, body, url, headers=None):
        self.status = status
        self.body = body
        self.url = url
        self.headers = headers or {}


class ConsulClient:
    """Sends requests to the first reachable agent of ``urls``.

    Only transport failures (refused, timed out, DNS) move on to the next URL: an HTTP answer,
    even an error, is the cluster speaking and is returned or raised as is.
    """

    def __init__(self, urls, token=None, ca_path=None, client_cert=None, client_key=None,
                 validate_certs=True, timeout=10, opener=None):
        self.urls = [u.rstrip("/") for u in urls if u and u.strip()]
        if not self.urls:
            raise ConsulError("url: give at least one Consul HTTP API URL")
        for u in self.urls:
            if not u.startswith(("http://", "https://")):
                raise ConsulError("url: %r is not an http:// or https:// URL" % u)
        self.token = token
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.validate_certs = validate_certs
        self.timeout = timeout
        self._open = opener or open_url
        # Remember the agent that answered last, so later requests start there.
        self._first = 0

    @classmethod
    def from_module(cls, module, keep_alive=False):
        """``keep_alive``: one connection per agent for the whole run (KeepAliveOpener) instead of open_url's
        new connection and TLS context per request; for modules that send many requests."""
        p = module.params
        try:
            return cls(p["url"], token=p.get("token"), ca_path=p.get("ca_path"), client_cert=p.get("client_cert"),
                       client_key=p.get("client_key"), validate_certs=p["validate_certs"], timeout=p["timeout"],
                       opener=KeepAliveOpener() if keep_alive else None)
        except ConsulError as e:
            module.fail_json(msg=str(e))
        return None  # not reached: fail_json exits

    def close(self):
        """Ends the connections a keep-alive opener holds (open_url holds none)."""
        close = getattr(self._open, "close", None)
        if close:
            close()

    def _headers(self, body):
        h = {"Accept": "application/json"}
        if self.token:
            h["X-Consul-Token"] = self.token
        if body is not None:
            h["Content-Type"] = "application/json"
        return h

    def request(self, method, path, params=None, body=None, ok=(200,)):
        """Returns a Response for statuses in ``ok``; raises ConsulError otherwise."""
        query = ""
        if params:
            query = "?" + urlencode([(k, "" if v is True else v) for k, v in params.items() if v is not None])
        data = json.dumps(body) if body is not None else None
        order = self.urls[self._first:] + self.urls[:self._first]
        unreachable = []
        for base in order:
            url = base + path + query
            try:
                r = self._open(url, method=method, data=data, headers=self._headers(data),
                               validate_certs=self.validate_certs, ca_path=self.ca_path,
                               client_cert=self.client_cert, client_key=self.client_key,
                               timeout=self.timeout, follow_redirects="safe")
                status, raw, headers = r.getcode(), r.read(), dict(r.headers or {})
            except HTTPError as e:
                status, raw, headers = e.code, _read(e), dict(e.headers or {})
            except (URLError, OSError, ValueError) as e:
                unreachable.append("%s (%s)" % (base, _reason(e)))
                continue
            self._first = self.urls.index(base)
            resp = Response(status, _decode(raw), url, headers)
            if status in ok:
                return resp
            raise ConsulError("%s %s: HTTP %s: %s" % (method, path, status, oneline(resp.body)),
                              status=status, body=resp.body)
        raise ConsulError("no Consul agent reachable: " + "; ".join(unreachable))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)


def path_segment(value):
    """Quote a user value for use as one path segment (service IDs, check IDs, ...)."""
    return quote(to_text(value), safe="")


def _read(err):
    try:
        return err.read()
    except Exception:  # pylint: disable=broad-except
        return b""


def _decode(raw):
    text = to_text(raw or b"", errors="surrogate_or_replace")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reason(err):
    reason = getattr(err, "reason", None) or err
    return oneline(to_text(reason))


def oneline(value):
    """A Consul answer (text or JSON) as one line of at most 300 characters, for a message."""
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=True)
    return " ".join(value.split())[:300]
