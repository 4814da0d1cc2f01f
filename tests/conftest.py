"""Make this checkout importable under its FQCN (ansible_collections.sdstack.consul), the way
Ansible loads it: lab/tools.sh links it into .lab/collections."""

import sys
from pathlib import Path

_COLLECTIONS = Path(__file__).resolve().parents[1] / ".lab" / "collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

# The Molecule scenarios' helper package (sdstack_molecule), whose own tests live in tests/harness;
# the verifier gets it from PYTHONPATH (.config/molecule/config.yml).
_MOLECULE_HELPERS = Path(__file__).resolve().parents[1] / "molecule" / "_shared" / "tests"
if str(_MOLECULE_HELPERS) not in sys.path:
    sys.path.insert(0, str(_MOLECULE_HELPERS))
