"""The shared consul checks, run against this scenario's hosts (testinfra reads testinfra_hosts here)."""

from sdstack_molecule.consul_checks import (  # noqa: F401  pylint: disable=unused-import
    testinfra_hosts,
    test_units_enabled_and_running,
    test_files_owned_and_permissioned,
    test_unit_is_hardened,
    test_every_instance_agrees_on_one_leader,
    test_three_voters_in_raft,
    test_members_alive_servers,
    test_list_peers_one_leader_two_followers,
    test_consul_raft_module_reports_the_cluster,
    test_consul_raft_names_the_missing_voter_then_recovers,
    stopped_instance,
)
