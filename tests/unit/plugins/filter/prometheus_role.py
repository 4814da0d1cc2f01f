"""The prometheus role's variables and templates, as the unit tests render them without a host."""

import os

import jinja2
import yaml
from ansible.plugins.filter.core import to_nice_yaml

from ansible_collections.sdstack.consul.plugins.filter.prometheus_server import prometheus_server

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
ROLE = os.path.join(ROOT, "roles", "prometheus")
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures")


def load_yaml(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return yaml.safe_load(f)


def settings(version="2.24.1", **overrides):
    """The role's defaults with the seed inventory's jobs, as vars/main.yml passes them in."""
    values = dict(load_yaml("roles", "prometheus", "defaults", "main.yml"))
    values.update(load_yaml("inventories", "seed", "group_vars", "prometheus.yml"))
    values["prometheus_version"] = version
    # No secure profile in the seed: the web defaults' consul_tls is undefined (false), and the
    # role hands the model the users it read (none).
    values.update(prometheus_web_tls=False, prometheus_web_basic_auth_users={})
    values.update(overrides)
    keys = load_yaml("roles", "prometheus", "vars", "main.yml")["_prometheus_settings"]
    return {k: values[k] for k in keys}


def render(template, version="2.24.1", **overrides):
    s = settings(version, **overrides)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                             trim_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["to_nice_yaml"] = to_nice_yaml
    install_dir = "%s/%s" % (load_yaml("roles", "prometheus", "defaults", "main.yml")["prometheus_install_root"],
                             version)
    context = dict(load_yaml("roles", "prometheus", "defaults", "main.yml"), prometheus_version=version,
                   ansible_managed="Ansible managed", _prometheus_server=prometheus_server(s),
                   _prometheus_binary=install_dir + "/prometheus")
    context.update(overrides)
    out = env.get_template(template).render(context)
    # Like Ansible's template module: Jinja drops the source's final newline, Ansible keeps one.
    return out if out.endswith("\n") else out + "\n"
