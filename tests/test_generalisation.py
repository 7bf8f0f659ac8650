"""The generalisation scores stored with every training run: the three sets, measured for real and reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.evaluation.generalisation import (
    GENERALISATION,
    TAG_BREAKDOWNS,
    breakdown_rows,
    comparison_rows,
    hits,
    read_out_of_style,
)
from pipelines.store.artifacts import ArtifactStore
from pipelines.store.registry import MODEL_NAMES, load_models


@pytest.fixture(scope="module")
def stored(trained_artifacts: Path) -> dict[str, dict]:
    store = ArtifactStore(trained_artifacts)
    return {name: store.runs(name)[0].generalisation() for name in MODEL_NAMES}


def test_every_run_stores_all_three_sets(trained_artifacts: Path, stored: dict[str, dict]) -> None:
    store = ArtifactStore(trained_artifacts)
    for name, scores in stored.items():
        run = store.runs(name)[0]
        assert "generalisation.json" in run.manifest["files"]  # checksummed like every file of a run
        assert scores["accuracy"]["mnist_test"] == run.metrics["accuracy"]
        assert scores["n"] == {"drawn": GENERALISATION.drawn_count, "out_of_style": GENERALISATION.out_of_style_count}
        for key in ("drawn", "out_of_style"):
            assert 0.0 <= scores["accuracy"][key] <= 1.0
        for kind in TAG_BREAKDOWNS:
            groups = scores["out_of_style_breakdown"][kind]
            assert sum(group["n"] for group in groups.values()) == GENERALISATION.out_of_style_count
            weighted = sum(group["n"] * group["accuracy"] for group in groups.values())
            assert weighted / GENERALISATION.out_of_style_count == pytest.approx(scores["accuracy"]["out_of_style"])
        assert set(scores["out_of_style_breakdown"]["source"]) == {"font", "letterform"}


def test_stored_scores_are_what_the_loaded_model_scores(trained_artifacts: Path, stored: dict[str, dict]) -> None:
    """Re-drawing the seeded set and reading it with the model loaded back gives the stored figure."""
    read = read_out_of_style(GENERALISATION.out_of_style_count, GENERALISATION.seed)
    model = load_models(trained_artifacts)["rf"]
    assert hits(model, read).mean() == pytest.approx(stored["rf"]["accuracy"]["out_of_style"])


def test_the_out_of_style_set_is_harder_than_mnist_for_the_forest(stored: dict[str, dict]) -> None:
    """What the set exists to show: shapes MNIST's writers rarely made are read worse than MNIST's own."""
    accuracy = stored["rf"]["accuracy"]
    assert accuracy["out_of_style"] < accuracy["mnist_test"]


def test_rows_for_the_page(stored: dict[str, dict]) -> None:
    rows = comparison_rows(stored)
    assert len(rows) == 3 * len(MODEL_NAMES)
    assert {row["set"] for row in rows} == {"MNIST test", "drawn digits", "out of style"}
    by_digit = breakdown_rows(stored, "digit")
    assert [row["group"] for row in by_digit] == [str(digit) for digit in range(10)]
    assert all(set(MODEL_NAMES) <= set(row) for row in by_digit)
    assert np.isclose(sum(row["n"] for row in by_digit), GENERALISATION.out_of_style_count)
