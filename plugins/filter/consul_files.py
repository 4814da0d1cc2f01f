"""The files a host's Consul agents read, in the shape the sdstack.consul.files module takes, so
that one module run writes them all (one for the public files, one, under no_log, for secrets)."""

import json

from ansible.errors import AnsibleFilterError

SYSTEMD_DIR = "/etc/systemd/system"
# The marker the role's templates print through ansible_managed (its default value), kept in the
# drop-ins so that they read unchanged against the ones written from a template before.
MANAGED = "# Ansible managed\n"


def consul_unit(name):
    """The systemd unit of the instance ``name``: an instance of the role's template unit."""
    return "consul@%s.service" % name


def consul_instance_units(local):
    """The sdstack.consul.systemd_units entries that enable and start each instance of ``local``."""
    return [{"name": consul_unit(inst["name"]), "state": "started", "enabled": True} for inst in local]


def consul_json(data):
    """A Consul JSON configuration file: the layout of to_nice_json(indent=2), plus a newline."""
    return json.dumps(data, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"


def consul_files(local, configs, unit, config_root, group, binary):
    """Each instance's consul.json (checked by ``consul validate`` before it goes live), the shared
    template unit and each instance's unit drop-in, which opens its data folder to it alone.

    ``configs``: each instance's configuration (consul_agent_config), in the order of ``local``;
    ``unit``: the template unit's text. Each file's label is the instance it belongs to; the unit,
    which every instance reads, has none."""
    if not isinstance(configs, list) or len(configs) != len(local):
        raise AnsibleFilterError("consul_files: configs must hold one entry per instance (%d), got %r"
                                 % (len(local), configs))
    out = [{"path": "%s/%s/consul.json" % (config_root, inst["name"]), "content": consul_json(conf),
            "owner": "root", "group": group, "mode": "0640", "label": inst["name"],
            "validate": "%s validate -config-format=json %%s" % binary}
           for inst, conf in zip(local, configs)]
    out.append({"path": "%s/consul@.service" % SYSTEMD_DIR, "content": unit, "owner": "root", "group": "root",
                "mode": "0644"})
    out += [{"path": "%s/%s.d/10-instance.conf" % (SYSTEMD_DIR, consul_unit(inst["name"])),
             "content": "%s[Service]\nReadWritePaths=%s\n" % (MANAGED, inst["data_dir"]),
             "owner": "root", "group": "root", "mode": "0644", "label": inst["name"]} for inst in local]
    return out


def consul_secret_files(local, secrets, tls, config_root, group, binary):
    """Each instance's secrets.json, checked by ``consul validate`` together with the live
    consul.json (the agent reads both), then the TLS files of this host.

    ``secrets``: the content of secrets.json (consul_agent_secrets), the same for each instance of
    a host; ``tls``: a list of dicts with ``name``, ``content`` and ``mode``, each written to
    ``config_root``/tls, or empty without TLS. The TLS files, which every instance reads, have no label."""
    out = [{"path": "%s/%s/secrets.json" % (config_root, inst["name"]), "content": consul_json(secrets),
            "owner": "root", "group": group, "mode": "0640", "label": inst["name"],
            "validate": "%s validate -config-format=json %s/%s/consul.json %%s" % (binary, config_root, inst["name"])}
           for inst in local]
    out += [{"path": "%s/tls/%s" % (config_root, f["name"]), "content": f["content"], "owner": "root",
             "group": group, "mode": f["mode"]} for f in tls or []]
    return out


def consul_units_changed(result):
    """Whether a files result (of consul_files) changed a unit or drop-in: systemd must reload."""
    return any(f.get("changed") and str(f.get("path", "")).startswith(SYSTEMD_DIR + "/")
               for f in (result or {}).get("files") or [])


class FilterModule:
    def filters(self):
        return {"consul_files": consul_files, "consul_secret_files": consul_secret_files,
                "consul_units_changed": consul_units_changed, "consul_instance_units": consul_instance_units}
