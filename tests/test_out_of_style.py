"""The out-of-style set: reproducible, tagged, shaped like the canvas component's output, with the font split
disjoint and stable, letterforms with the strokes and loops their names promise, and the benchmark command."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from pipelines.benchmarks.generalise_study import main as study_main
from pipelines.benchmarks.out_of_style import SECTION, main
from pipelines.config import N_CLASSES
from pipelines.evaluation.drawn import StrokeStyle, place_strokes, render_strokes
from pipelines.evaluation.fonts import FONT_SPLIT, design_of, faces_by_design, installed_faces, is_evaluation_design
from pipelines.evaluation.letterforms import LETTERFORMS, letterform_strokes, letterforms_of
from pipelines.evaluation.out_of_style import (
    ELASTIC,
    FONT,
    LETTERFORM,
    OUT_OF_STYLE,
    UNDISTORTED,
    elastic_distort,
    font_canvas,
    make_out_of_style,
)
from pipelines.reading.canvas import canvas_to_mnist

SEED = 5
COUNT = 40
UPRIGHT = StrokeStyle(height_fraction=0.6, rotation_degrees=0.0, slant_degrees=0.0, pen_width=14.0,
                      position=(0.5, 0.5))


@pytest.fixture(scope="module")
def out_of_style() -> tuple[np.ndarray, np.ndarray, list]:
    return make_out_of_style(COUNT, SEED)


def _ink_rows(canvas: np.ndarray) -> np.ndarray:
    return np.flatnonzero((canvas[..., 0] > 0).any(axis=1))


def _holes(canvas: np.ndarray, min_area: int = 200) -> int:
    """Closed loops in the ink: background regions cut off from the border, larger than a pen joint's pocket."""
    background = canvas[..., 0] < 128
    labelled, count = ndimage.label(background)
    border = set(np.unique(np.concatenate([labelled[0], labelled[-1], labelled[:, 0], labelled[:, -1]])))
    areas = np.bincount(labelled.ravel(), minlength=count + 1)
    return sum(1 for region in range(1, count + 1) if region not in border and areas[region] >= min_area)


def _upright(form_name: str, seed: int = 0) -> np.ndarray:
    form = next(form for form in LETTERFORMS if form.name == form_name)
    strokes = letterform_strokes(form, np.random.default_rng(seed))
    return render_strokes(place_strokes(strokes, UPRIGHT), UPRIGHT.pen_width)


def test_canvases_look_like_the_drawing_components(out_of_style) -> None:
    canvases, labels, tags = out_of_style
    assert canvases.shape == (COUNT, 280, 280, 4) and canvases.dtype == np.uint8
    assert (canvases[..., 3] == 255).all()
    assert (canvases[..., 0] == canvases[..., 1]).all() and (canvases[..., 0] == canvases[..., 2]).all()
    for canvas in canvases:
        assert canvas_to_mnist(canvas) is not None
        for edge in (canvas[0, :, 0], canvas[-1, :, 0], canvas[:, 0, 0], canvas[:, -1, 0]):
            assert edge.max() < 128  # the digit lies on the canvas, not cut by its border


def test_labels_are_balanced_and_every_item_is_tagged(out_of_style) -> None:
    _, labels, tags = out_of_style
    assert labels.tolist() == [index % N_CLASSES for index in range(COUNT)]
    assert [tag.label for tag in tags] == labels.tolist()
    assert {tag.source for tag in tags} == {FONT, LETTERFORM}
    assert {tag.distortion for tag in tags} == {ELASTIC, UNDISTORTED}
    evaluation_designs = faces_by_design(True)
    for tag in tags:
        if tag.source == FONT:
            assert tag.style in evaluation_designs and tag.detail
        else:
            assert tag.style in {form.name for form in letterforms_of(tag.label, evaluation=True)}


def test_the_set_is_reproducible_from_its_seed(out_of_style) -> None:
    canvases, _, tags = out_of_style
    again, _, again_tags = make_out_of_style(COUNT // 2, SEED)
    np.testing.assert_array_equal(again, canvases[: COUNT // 2])  # a prefix, whatever the count
    assert again_tags == tags[: COUNT // 2]
    other, _, _ = make_out_of_style(COUNT // 2, SEED + 1)
    assert not np.array_equal(other, again)


def test_training_copies_come_only_from_the_training_side() -> None:
    config = dataclasses.replace(OUT_OF_STYLE, evaluation=False)
    _, _, tags = make_out_of_style(30, SEED, config)
    training_designs = faces_by_design(False)
    for tag in tags:
        if tag.source == FONT:
            assert tag.style in training_designs and not is_evaluation_design(tag.style)
        else:
            assert tag.style in {form.name for form in letterforms_of(tag.label, evaluation=False)}


def test_the_font_split_is_disjoint_and_keeps_clones_together() -> None:
    evaluation, training = faces_by_design(True), faces_by_design(False)
    assert evaluation and training
    assert not set(evaluation) & set(training)
    evaluation_files = {face.path for faces in evaluation.values() for face in faces}
    training_files = {face.path for faces in training.values() for face in faces}
    assert not evaluation_files & training_files
    assert len(evaluation_files | training_files) == len(installed_faces())
    assert {design_of(name) for name in ("Liberation Sans", "Arimo", "Nimbus Sans", "FreeSans", "TeX Gyre Heros")} == {
        "helvetica"}
    assert design_of("Gillius ADF No2") == design_of("Gillius ADF")


def test_the_font_split_is_stable() -> None:
    """A design's side is fixed by its name: changing the salt or the share would silently move fonts into training."""
    assert FONT_SPLIT.split_salt == "out-of-style-1" and FONT_SPLIT.evaluation_share == 0.5
    expected = {"helvetica": False, "times": False, "courier": False, "bitstream vera": False, "roboto": False,
                "humor": False, "computer modern": True, "comic": True, "dancing": True, "kristi": True,
                "lato": True, "century schoolbook": True}
    assert {design: is_evaluation_design(design) for design in expected} == expected


def test_symbol_and_script_specific_fonts_are_left_out() -> None:
    families = {face.family for face in installed_faces()}
    assert not any("Symbol" in family or "Math" in family or "Dingbat" in family for family in families)
    assert not any(family.startswith("Noto Sans ") and family not in ("Noto Sans Display", "Noto Sans Mono")
                   for family in families)
    assert not any("Hairline" in face.style or "Thin" in face.style for face in installed_faces())


def test_a_typeset_digit_has_the_asked_height_and_position() -> None:
    face = faces_by_design(True)["computer modern"][0]
    canvas = font_canvas(face, 7, UPRIGHT)
    rows = _ink_rows(canvas)
    assert abs((rows[-1] - rows[0] + 1) - UPRIGHT.height_fraction * 280) <= 4
    assert abs((rows[0] + rows[-1]) / 2 - 140) <= 4  # position (0.5, 0.5): centred


@pytest.mark.parametrize("form", [form.name for form in LETTERFORMS])
def test_every_letterform_draws_one_readable_digit(form: str) -> None:
    canvas = _upright(form)
    digit = canvas_to_mnist(canvas)
    assert digit is not None
    assert 0.03 < digit.mean() < 0.35  # MNIST digits: about 0.13 on average, a thin 1 about 0.05
    pieces = ndimage.label(canvas[..., 0] >= 128)[1]
    assert pieces == 1 or form == "8 stacked loops" and pieces <= 2


@pytest.mark.parametrize(("form", "loops"), [
    ("0 oval", 1), ("1 flagged", 0), ("1 flagged and footed", 0), ("4 open", 0), ("4 closed", 1),
    ("6 closed loop", 1), ("7 crossed", 0), ("8 stacked loops", 2), ("9 closed loop", 1)])
def test_letterforms_have_the_loops_their_names_promise(form: str, loops: int) -> None:
    for seed in range(3):
        assert _holes(_upright(form, seed)) == loops


def test_elastic_distortion_bends_the_ink_without_losing_it(out_of_style) -> None:
    canvas = _upright("6 closed loop")
    bent = elastic_distort(canvas, np.random.default_rng(1))
    np.testing.assert_array_equal(bent, elastic_distort(canvas, np.random.default_rng(1)))
    assert bent.shape == canvas.shape and (bent[..., 3] == 255).all()
    changed = np.abs(bent[..., 0].astype(int) - canvas[..., 0].astype(int)) > 64
    assert changed.mean() > 0.005
    assert 0.7 < bent[..., 0].sum() / canvas[..., 0].sum() < 1.3


def test_benchmark_prints_and_writes_every_condition(trained_artifacts: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out, sheet = tmp_path / "BENCHMARKS.md", tmp_path / "sheet.png"
    out.write_text("# Benchmarks\n\nkept\n")
    argv = ["--artifacts", str(trained_artifacts), "--data", "sample", "--count", "30", "--drawn-count", "20",
            "--out", str(out), "--sheet", str(sheet)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for heading in ("MNIST test", "drawn digits", "out of style", "font or letterform", "elastic", "digit"):
        assert heading in printed
    text = out.read_text()
    assert "kept" in text and f"<!-- begin {SECTION} -->" in text
    assert "python -m pipelines.benchmarks.out_of_style --artifacts" in text
    assert "evaluation (never trained on)" in text and "computer modern" in text
    for model in ("svm", "rf", "cnn"):
        assert f"| {model} |" in text
    assert sheet.is_file() and sheet.stat().st_size > 1000


def test_generalisation_study_trains_each_candidate_on_its_own_copies(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "BENCHMARKS.md"
    argv = ["--data", "sample", "--train", "500", "--models", "rf", "--candidates", "baseline", "hog+style+elastic",
            "--style-copies", "30", "--elastic-copies", "20", "--count", "20", "--drawn-count", "10", "--out", str(out)]
    assert study_main(argv) == 0
    text = out.read_text()
    assert "<!-- begin generalise-study -->" in text and "python -m pipelines.benchmarks.generalise_study" in text
    rows = [line for line in text.splitlines() if line.startswith("| rf |")]
    assert len(rows) == 2
    assert "| baseline | 500 |" in rows[0]
    assert "| hog+style+elastic | 550 |" in rows[1]  # every style and elastic copy is read as a digit
    assert study_main(argv[:-2] + ["--candidates", "shiny", "--out", str(out)]) == 2
