"""mutmut 2.x hooks for lab/mutation (copied to the root of the scratch copy, where mutmut imports it).

Skips the mutants no unit test can judge: a module's DOCUMENTATION / EXAMPLES / RETURN are YAML
that ansible-test sanity (validate-modules) checks, and the ``if __name__ == "__main__"`` entry
point only runs when Ansible executes a module, which the Molecule scenarios do.

Runs only the test files that import the mutated file, directly or through another plugin: a test
that imports none of them cannot run its code, so the verdict is the whole suite's, in less time.
"""

import functools
import re
from pathlib import Path

_NOT_UNIT_TESTABLE = re.compile(r'^(DOCUMENTATION|EXAMPLES|RETURN)\s*=|^if __name__ == "__main__":')
# The runner's last argument and the baseline: the unit tests of the plugins (the rest of tests/unit
# checks the lab's own tools); any unit test that imports the mutated file runs too.
SUITE = "tests/unit/plugins"


# "plugins.<kind>.<stem>" or "plugins.<kind> import [a, ]<stem>"
_IMPORTS = r"sdstack\.consul\.plugins\.\w+(?:\.|\s+import\s+(?:\w+,\s*)*)%s\b"


def _imports(path, stems):
    text = path.read_text()
    return any(re.search(_IMPORTS % stem, text) for stem in stems)


@functools.lru_cache(maxsize=None)
def tests_reaching(filename):
    """Test files that import the file, or a plugin that imports it, directly or not."""
    reached = {Path(filename).stem}
    grew = True
    while grew:
        users = {p.stem for p in Path("plugins").rglob("*.py") if _imports(p, reached)}
        grew = not users <= reached
        reached |= users
    tests = sorted(str(t) for t in Path("tests/unit").rglob("test_*.py") if _imports(t, reached))
    return " ".join(tests) or SUITE


def pre_mutation(context):
    if _NOT_UNIT_TESTABLE.match(context.current_source_line):
        context.skip = True
        return
    default = context.config._default_test_command
    assert default.endswith(" " + SUITE), "lab/mutation's runner must end with " + SUITE
    context.config.test_command = default[:-len(SUITE)] + tests_reaching(context.filename)
