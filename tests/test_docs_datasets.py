"""docs/datasets.md shows the datasets table the converters generate, so the page cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

from prism.data.convert import datasets_table, list_datasets

DOC = Path(__file__).resolve().parents[1] / "docs" / "datasets.md"


def test_the_datasets_table_is_the_generated_one():
    text = DOC.read_text()
    table = text.split("<!-- datasets-table:start -->\n", 1)[1].split("\n<!-- datasets-table:end -->", 1)[0]
    assert (
        table == datasets_table()
    ), "regenerate the table: python -c 'from prism.data.convert import datasets_table; print(datasets_table())'"


def test_every_dataset_has_a_note():
    text = DOC.read_text().split("## Notes per dataset", 1)[1]
    for spec in list_datasets():
        assert f"`{spec.name}`" in text, spec.name
