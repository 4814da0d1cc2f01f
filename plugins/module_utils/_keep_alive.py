# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An open_url stand-in that keeps one HTTP connection per agent for a whole module run.

open_url builds a new urllib opener for every request, and with it a TLS context that loads the
system's whole CA store, even for http:// URLs: on a loaded 2-core host that is tens of
milliseconds per request, most of the cost of registering 500 services (docs/adr/0001,
docs/benchmarks.md). This opener builds the context once, with ansible-core's own make_context and
the same arguments open_url passes it, and keeps the connection open between requests
(HTTP/1.1 keep-alive, stdlib http.client only: nothing to install on managed nodes).

It answers like open_url, so ConsulClient handles both the same way: a response with getcode(),
read() and headers for 2xx; HTTPError for 4xx/5xx; URLError (or the OSError itself, as urllib
does while reading an answer) when the agent cannot be reached. Requests it cannot send the same way
go through open_url itself: when a proxy from the environment applies to the URL (open_url honours
http_proxy and no_proxy), and when the agent answers with a redirect (open_url's
``follow_redirects`` decides what to do with it).
"""

from __future__ import annotations

import http.client
import io
import urllib.request

from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible.module_utils.urls import make_context, open_url

# What a kept-alive connection the agent closed while it was idle raises on its next use, before
# any answer: the request goes once more over a new connection (as urllib3 does). Only a connection
# that already served a request is retried, never a new one, so an agent that is down still fails at once.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Answer:
    """A 2xx answer, read in full, shaped like what open_url returns."""

    def __init__(self, status, body, headers):
        self.status = status
        self._body = body
        self.headers = headers

    def getcode(self):
        return self.status

    def read(self):
        return self._body


class KeepAliveOpener:
    """Callable like open_url (the keyword arguments ConsulClient passes); ``close()`` ends the connections."""

    def __init__(self, fallback=None):
        self._fallback = fallback or open_url
        self._context = None
        self._context_args = None
        self._connections = {}
        self._proxied = {}

    def __call__(self, url, method="GET", data=None, headers=None, validate_certs=True, ca_path=None,
                 client_cert=None, client_key=None, timeout=10, follow_redirects="urllib2"):
        kw = dict(method=method, data=data, headers=headers, validate_certs=validate_certs, ca_path=ca_path,
                  client_cert=client_cert, client_key=client_key, timeout=timeout, follow_redirects=follow_redirects)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or self._through_proxy(parts):
            return self._fallback(url, **kw)
        # Built as open_url builds it, once. open_url builds one for http:// too, loading the whole CA
        # store for nothing (0.3 s on a loaded host): not done here.
        context = self._tls(ca_path, validate_certs, client_cert, client_key) if parts.scheme == "https" else None
        selector = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        body = to_bytes(data, nonstring="passthru")
        key = (parts.scheme, parts.netloc, timeout)
        for attempt in (1, 2):
            conn = self._connections.get(key)
            reused = conn is not None
            if conn is None:
                conn = self._connect(parts, timeout, context)
                self._connections[key] = conn
            try:
                status, raw, answer_headers, reason = self._exchange(conn, method, selector, body, headers or {})
            except _STALE:
                self._drop(key)
                if reused and attempt == 1:
                    continue
                raise
            except Exception:
                self._drop(key)
                raise
            break
        if 300 <= status < 400:
            # A redirect: open_url's own handling (follow_redirects) decides, exactly as before.
            return self._fallback(url, **kw)
        if status >= 400:
            raise HTTPError(url, status, reason, answer_headers, io.BytesIO(raw))
        return Answer(status, raw, answer_headers)

    def _through_proxy(self, parts):
        # The environment does not change during a run; asking urllib costs milliseconds per request.
        key = (parts.scheme, parts.netloc)
        if key not in self._proxied:
            self._proxied[key] = _proxied(parts)
        return self._proxied[key]

    def _tls(self, ca_path, validate_certs, client_cert, client_key):
        args = (ca_path, validate_certs, client_cert, client_key)
        if self._context is None or self._context_args != args:
            self._context = make_context(cafile=ca_path, validate_certs=validate_certs, client_cert=client_cert,
                                         client_key=client_key)
            self._context_args = args
        return self._context

    def _connect(self, parts, timeout, context):
        # Looked up at each call, not bound at import: test recorders replace these classes.
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def _exchange(self, conn, method, selector, body, headers):
        try:
            conn.request(method, selector, body=body, headers=headers)
        except _STALE:
            raise
        except (OSError, http.client.HTTPException) as err:
            # urllib wraps failures to connect or send this way: same one-line reason in ConsulClient.
            raise URLError(err) from None
        try:
            resp = conn.getresponse()
            raw = resp.read()
        except _STALE:
            raise
        except http.client.HTTPException as err:
            # Not an OSError: urllib would let it out as a traceback; a URLError is one line.
            raise URLError(err) from None
        # An answer with "Connection: close" makes http.client close the socket; it opens a new one on the
        # next request by itself.
        return resp.status, raw, resp.headers, resp.reason

    def _drop(self, key):
        conn = self._connections.pop(key, None)
        if conn is not None:
            conn.close()

    def close(self):
        for key in list(self._connections):
            self._drop(key)


def _proxied(parts):
    """Whether urllib (hence open_url) would send this URL to a proxy from the environment."""
    proxies = urllib.request.getproxies()
    if parts.scheme not in proxies:
        return False
    return not urllib.request.proxy_bypass(to_native(parts.netloc))
