"""release_installed: does every binary's --version output name the release the role installs?"""

import pytest

from ansible_collections.sdstack.consul.plugins.filter.release import release_installed


def ran(stdout="", stderr="", rc=0):
    return {"stdout": stdout, "stderr": stderr, "rc": rc}


UPSTREAM = "prometheus, version 2.53.4 (branch: HEAD, revision: 1b4f4a5)"
DEBIAN = "prometheus, version 2.24.1+ds (branch: debian/sid, revision: 2.24.1+ds-1)"


@pytest.mark.parametrize("results, version, want", [
    ([ran(UPSTREAM), ran(UPSTREAM.replace("prometheus", "promtool"))], "2.53.4", True),
    ([ran(DEBIAN), ran(stderr=DEBIAN)], "2.24.1", True),              # promtool prints to stderr
    ([ran("consul version 1.8.7")], "1.8.7", True),                   # version at the end of the output
    ([ran(UPSTREAM), ran(stderr="No such file or directory", rc=2)], "2.53.4", False),
    ([ran(UPSTREAM)], "2.53.41", False),
    ([ran(UPSTREAM)], "2.53", False),                                 # a prefix of the version is another one
    ([ran("version 2x53x4 (branch)")], "2.53.4", False),              # dots are dots
    ([ran(UPSTREAM, rc=1)], "2.53.4", False),
    ([], "2.53.4", False),
])
def test_release_installed(results, version, want):
    assert release_installed(results, version) is want
