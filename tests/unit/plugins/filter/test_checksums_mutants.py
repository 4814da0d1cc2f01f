"""checksum_entry's refusal of non-text names the type it got, so a playbook author sees what went in."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.checksums import checksum_entry


def test_non_text_input_names_its_type():
    with pytest.raises(AnsibleFilterError) as e:
        checksum_entry(["a"], "x.zip")
    assert str(e.value) == "checksum_entry expects the checksum file's text, got list"
