"""The shared discovery-pipeline checks, on this scenario's hosts (testinfra reads testinfra_hosts here)."""

from sdstack_molecule.pipeline_checks import TestDiscoveryPipeline, testinfra_hosts  # noqa: F401  pylint: disable=unused-import
