"""Conditions of !IF: a table of expressions and their truth (FLAVOR=chk, ARCH=amd64, LEVEL=3, EMPTY='')."""

from __future__ import annotations

import pytest

from enlist.descriptors.expression import evaluate
from enlist.descriptors.lexer import logical_lines
from enlist.descriptors.macros import Macros
from enlist.descriptors.text import Text

MACROS = {"FLAVOR": "chk", "ARCH": "amd64", "LEVEL": "3", "EMPTY": "", "SPACED": "a b"}

TABLE = [
    ('"$(FLAVOR)" == "chk"', True),
    ('"$(FLAVOR)" != "chk"', False),
    ("$(ARCH) == amd64", True),
    ('$(ARCH)=="x86"', False),
    ('"$(EMPTY)" == ""', True),
    ('"$(UNDEFINED)" == ""', True),
    ("defined(FLAVOR)", True),
    ("DEFINED(UNDEFINED)", False),
    ("!defined(UNDEFINED)", True),
    ("$(LEVEL) >= 2", True),
    ("$(LEVEL) < 3", False),
    ("$(LEVEL) <= 3 && $(LEVEL) > 2", True),
    ("0x10 == 16", True),
    ("-1 < 0", True),
    ('"3" == $(LEVEL)', True),  # a quoted "3" against the number 3: compared as strings
    ("1 || 0 && 0", True),  # && binds tighter than ||
    ("(1 || 0) && 0", False),
    ("!(1 && !0)", False),
    ("!!1", True),
    ("0", False),
    ("7", True),
    ('""', False),
    ('"x"', True),
    ("$(EMPTY)", False),
    ('"$(SPACED)" == "a b"', True),
    ('defined(ARCH) && "$(ARCH)" == "arm64" || "$(FLAVOR)" == "chk"', True),
]


@pytest.mark.parametrize(("condition", "expected"), TABLE, ids=[c for c, _ in TABLE])
def test_condition(condition: str, expected: bool) -> None:
    logical = logical_lines("!IF " + condition, "f")[0]
    macros = Macros({}, values={k: Text(v) for k, v in MACROS.items()})
    assert evaluate(logical, 4, macros) is expected


def test_defined_reads_the_name_without_expanding_it() -> None:
    logical = logical_lines("!IF defined(LEVEL) && !defined(NOPE)", "f")[0]
    macros = Macros({}, values={"LEVEL": Text("0")})
    assert evaluate(logical, 4, macros) is True
    assert {"LEVEL", "NOPE"} <= macros.looked_up
