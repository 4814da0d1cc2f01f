"""The shared pipeline checks, run against this scenario's hosts (testinfra reads testinfra_hosts here)."""

from sdstack_molecule.pipeline_checks import (  # noqa: F401  pylint: disable=unused-import
    testinfra_hosts,
    test_seed_services_are_up_targets_in_their_jobs_with_consul_meta_labels,
    test_discovery_asks_the_configured_consul_addresses,
    test_consul_checks_of_the_seed_services_pass,
    test_module_registration_and_deregistration_move_the_target,
)
