"""The shared Consul server checks, on this scenario's hosts (testinfra reads testinfra_hosts here)."""

from sdstack_molecule.consul_checks import TestConsulServers, testinfra_hosts  # noqa: F401  pylint: disable=unused-import
