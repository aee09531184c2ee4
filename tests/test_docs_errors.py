"""docs/errors.md cannot rot: every entry names a test that exists and asserts on the entry's checked text."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| ([A-Z]\d\d) \|.*\| `(tests/[^`:]+)::([A-Za-z_0-9]+)` \| `([^`]+)` \|$")


def _entries() -> list[tuple[str, str, str, str]]:
    rows = [ROW.match(line) for line in (REPO / "docs" / "errors.md").read_text().splitlines()]
    return [m.groups() for m in rows if m]


def test_the_catalogue_has_at_least_thirty_distinct_entries():
    ids = [e[0] for e in _entries()]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)
    table_rows = [l for l in (REPO / "docs" / "errors.md").read_text().splitlines() if re.match(r"^\| [A-Z]\d\d \|", l)]
    assert len(table_rows) == len(
        ids
    ), "a catalogue row does not have the form | id | ... | `tests/x.py::test` | `text` |"


@pytest.mark.parametrize("entry", _entries(), ids=[e[0] for e in _entries()])
def test_the_named_test_exists_and_asserts_on_the_message(entry):
    _, path, name, text = entry
    source = (REPO / path).read_text()
    functions = {n.name: n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)}
    assert name in functions, f"{path} has no test {name}"
    body = ast.get_source_segment(source, functions[name]).replace("\\", "")
    assert text in body, f"{path}::{name} does not mention {text!r}"
