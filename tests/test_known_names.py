"""A newcomer's name is known when the story holds it under a variant (monitor/detect/known.py)."""

from __future__ import annotations

import pytest

from monitor.detect.known import KnownNames

KNOWN = ["Department of Civil Harbours", "Nurul Aisyah", "Ada Okafor", "LPA", "Kim Jong-un"]

CASES = [
    ("Okafor", True),  # a tail
    ("Department of Civil", True),  # cut short at the end
    ("DCH", True),  # the initials of a known name
    ("Lakeport Port Authority", True),  # the known acronym spelled out
    ("Nurul Aishah", True),  # another spelling
    ("Ada Okafor", True),
    ("Kim Jong-nam", False),  # a different man of the same family
    ("Ada Okoro", False),  # a different surname, however alike the first name
    ("Tom Quill", False),
    ("Department", True),  # a first word (same_name's family-name-first rule)
    ("Civil Harbours Board", False),
    ("DC", False),
]


@pytest.mark.parametrize(("name", "known"), CASES)
def test_known_under_a_variant(name: str, known: bool) -> None:
    assert KnownNames(KNOWN).has(name) is known
