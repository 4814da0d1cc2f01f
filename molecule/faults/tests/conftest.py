import sys
from pathlib import Path

# Helpers shared by the scenarios (playbook runs, deadline polls) live in molecule/_shared/tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared" / "tests"))
