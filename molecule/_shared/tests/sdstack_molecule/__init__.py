"""Test helpers shared by the Molecule scenarios, importable as a package.

The verifier puts molecule/_shared/tests on PYTHONPATH and loads ``sdstack_molecule.strict_run``
as a pytest plugin (.config/molecule/config.yml); scenario tests import what they use by name.
"""
