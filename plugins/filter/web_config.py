# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The web configuration file (--web.config.file) of Prometheus and the exporters.

Prometheus and node_exporter read it through the Prometheus exporter-toolkit: HTTPS with
``tls_server_config`` and basic authentication with ``basic_auth_users`` (bcrypt hashes). The
roles pass their settings in; this returns the file's content and how a client on the same
host reaches the server, so the templates only print what it decides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import warnings

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

# Go's bcrypt.DefaultCost: what exporter-toolkit's documentation uses. Every request with basic
# auth pays one hash at this cost on the server.
BCRYPT_COST = 10
_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT = str.maketrans(_STD, _BCRYPT)
# A user whose password the role chooses gets a file named after it in the secrets folder.
_FILE_USER = re.compile(r"^[A-Za-z0-9_.-]+$")
# What a check run shows for a password that the first real run will choose.
CHECK_MODE_PASSWORD = "chosen-at-the-first-run"


def _fail(msg):
    raise AnsibleFilterError(msg)


def bcrypt_salt(password, username):
    """A bcrypt salt (22 characters) derived from the secret: the same password gives the same
    hash on every run (a rerun changes nothing), and two users never share a salt."""
    digest = hmac.new(password.encode(), b"sdstack.consul web user " + username.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest[:16]).decode().rstrip("=").translate(_TO_BCRYPT)


def _hashpw(password, setting):
    try:
        import bcrypt  # pylint: disable=import-outside-toplevel
    except ImportError:
        bcrypt = None
    if bcrypt is not None:
        return bcrypt.hashpw(password.encode(), setting.encode()).decode()
    try:
        # Python 3.11 and 3.12 warn that crypt goes in 3.13; where it is gone, bcrypt must be installed.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # pylint: disable=import-outside-toplevel,deprecated-module
    except ImportError:
        crypt = None
    hashed = crypt.crypt(password, setting) if crypt is not None else None
    if not hashed or not hashed.startswith(setting[:7]):
        _fail("web_password_hash: this controller can hash bcrypt neither with the bcrypt module nor with "
              "crypt(3); install the Python package bcrypt on the controller")
    return hashed


def web_password_hash(password, username="", cost=BCRYPT_COST):
    """bcrypt hash ($2b$) of ``password`` with a salt derived from it and ``username``."""
    if not isinstance(password, str) or not password.strip():
        _fail("web_password_hash: the password of user %r is empty" % (username,))
    if not 4 <= int(cost) <= 31:
        _fail("web_password_hash: cost %r is not from 4 to 31" % (cost,))
    return _hashpw(password.strip(), "$2b$%02d$%s" % (int(cost), bcrypt_salt(password.strip(), username)))


def _users(users, var):
    if users is None or users == {}:
        return {}
    if not isinstance(users, dict):
        _fail("%s must be a dict of user name: password, got %s" % (var, type(users).__name__))
    out = {}
    for name, password in users.items():
        if not isinstance(name, str) or not name or ":" in name or name != name.strip():
            _fail("%s: %r is not a user name (no colon, no surrounding spaces)" % (var, name))
        if not isinstance(password, str) or not password.strip():
            _fail("%s: the password of %s is empty" % (var, name))
        out[name] = password.strip()
    return out


def web_password_files(users, secrets_dir, var):
    """Where the passwords left empty in ``users`` (``var``) are kept: a list of {user, path}.

    Each is chosen once on the controller (module consul_secret_file) in
    ``<secrets_dir>/web/<user>.password``, like the ACL tokens' secrets, and never replaced.
    """
    if users is None or users == {}:
        return []
    if not isinstance(users, dict):
        _fail("%s must be a dict of user name: password, got %s" % (var, type(users).__name__))
    out = []
    for name, password in sorted(users.items(), key=lambda kv: str(kv[0])):
        if password not in (None, ""):
            continue
        if not isinstance(name, str) or not _FILE_USER.match(name):
            _fail("%s: %r is not a user name the role can choose a password for (letters, digits, _ . -)"
                  % (var, name))
        if not secrets_dir:
            _fail("%s: %s has no password and no secrets folder is set to keep one chosen by the role "
                  "(consul_secrets_dir)" % (var, name))
        out.append({"user": name, "path": "%s/web/%s.password" % (str(secrets_dir).rstrip("/"), name)})
    return out


def web_users(users, secrets_dir, var, check_mode=False):
    """``users`` (``var``) with every empty password read from its file in the secrets folder.

    A check run before the first real run finds no file yet: it gets a placeholder, so the rest
    of the run can still show what would change.
    """
    out = dict(users or {})
    for entry in web_password_files(users, secrets_dir, var):
        try:
            with open(entry["path"], encoding="utf-8") as f:
                out[entry["user"]] = f.read().strip()
        except FileNotFoundError:
            if not check_mode:
                _fail("%s: the password file %s of %s is missing" % (var, entry["path"], entry["user"]))
            out[entry["user"]] = CHECK_MODE_PASSWORD
    _users(out, var)
    return out


def web_config(settings, prefix):
    """The web configuration of the role whose variables start with ``prefix`` (prometheus, node_exporter).

    ``settings`` holds ``<prefix>_web_tls`` (bool), ``<prefix>_web_basic_auth_users`` (user name:
    password, hashed here) and ``<prefix>_config_dir`` (where the role installs web.yml,
    web-cert.pem and web-key.pem). Returns ``enabled`` (whether the server gets the flag),
    ``config`` (the file's content, None when not enabled), ``file``, ``cert_file``, ``key_file``,
    ``scheme`` (how clients reach the server) and ``basic_auth`` (whether it asks for credentials).
    """
    if not isinstance(settings, dict):
        _fail("web_config needs a dict of the role's variables, got %s" % type(settings).__name__)
    var = prefix + "_web_tls"
    try:
        tls = boolean(settings.get(var, False), strict=True)
    except TypeError:
        _fail("%s must be true or false, got %r" % (var, settings.get(var)))
    users = _users(settings.get(prefix + "_web_basic_auth_users"), prefix + "_web_basic_auth_users")
    if users and not tls:
        # Basic auth over plain HTTP sends the password in clear to anyone on the path.
        _fail("%s_web_basic_auth_users needs %s_web_tls: true (basic auth over plain HTTP shows the password "
              "to the network)" % (prefix, prefix))
    config_dir = str(settings.get(prefix + "_web_config_dir") or "/etc/" + prefix).rstrip("/")
    out = {"enabled": tls, "file": config_dir + "/web.yml", "cert_file": config_dir + "/web-cert.pem",
           "key_file": config_dir + "/web-key.pem", "scheme": "https" if tls else "http",
           "basic_auth": bool(users), "config": None}
    if tls:
        out["config"] = {"tls_server_config": {"cert_file": out["cert_file"], "key_file": out["key_file"]}}
        if users:
            out["config"]["basic_auth_users"] = {name: web_password_hash(pw, name) for name, pw in sorted(users.items())}
    return out


def web_health_check(web, address, port, path, interval):
    """The Consul health check of a server with web config ``web`` (web_config's answer), at ``address``:``port``.

    Plain HTTP: a GET of ``path``. Behind the web config an HTTP check would need the password in
    its definition, which Consul shows to every reader of the agent's checks, so the check only
    proves that the port answers (TCP); Prometheus's ``up`` tells whether the scrape works.
    """
    target = "[%s]" % address if ":" in str(address) else str(address)
    if (web or {}).get("enabled"):
        return {"tcp": "%s:%s" % (target, port), "interval": interval}
    return {"http": "http://%s:%s%s" % (target, port, path), "interval": interval}


class FilterModule:
    def filters(self):
        return {"web_config": web_config, "web_password_hash": web_password_hash,
                "web_password_files": web_password_files, "web_users": web_users,
                "web_health_check": web_health_check}
