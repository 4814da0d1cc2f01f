"""Make this checkout importable under its FQCN (ansible_collections.sdstack.consul), the way
Ansible loads it: lab/tools.sh links it into .lab/collections."""

import sys
from pathlib import Path

_COLLECTIONS = Path(__file__).resolve().parents[1] / ".lab" / "collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))
