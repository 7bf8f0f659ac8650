"""split_digits: how many digits, in which order, touching pairs cut, broken digits kept whole, specks ignored."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NUMBER_CANVAS, UPRIGHT, nth_test_digit, written_number
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.morphology import skeletonize

from pipelines import preprocess
from pipelines.evaluation.analysis import soft_vote, sureness_judge
from pipelines.evaluation.drawn import ink_canvas
from pipelines.evaluation.numbers import read_perfectly_cut
from pipelines.evaluation.photos import GREY_LIT, iter_numbers, number_coverage, photograph
from pipelines.preprocess import canvas_to_mnist
from pipelines.reading.canvas import ink_box
from pipelines.reading.segment import (
    SEGMENTATION,
    _candidate_cuts,
    _cut,
    _pieces,
    _sharing_the_crossing,
    _stroke_options,
    _winding_cuts,
    find_digits,
    split_digits,  # the model-free segmentation: the ink alone decides
)
from pipelines.serving.settings import ARTIFACTS_ENV
from pipelines.store.registry import load_models


def _number(sample, labels: list[int], gaps: list[float]) -> np.ndarray:
    return written_number(sample, labels, gaps)[0]


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the two digits slightly blurred: a one-pixel shift of a thin stroke is the same digit."""
    a, b = (ndimage.gaussian_filter(image, 1.0).ravel() for image in (a, b))
    return float(np.corrcoef(a, b)[0, 1])


def test_nothing_written_gives_no_digits() -> None:
    blank = ink_canvas(np.zeros(NUMBER_CANVAS[::-1], dtype=np.uint8))
    assert split_digits(blank) == []
    assert split_digits(np.full((200, 300, 3), 235, dtype=np.uint8)) == []


@pytest.mark.parametrize("labels", [[1, 2, 3], [4, 0], [7, 5, 9, 6, 8], [2, 0, 2, 6, 1, 9]])
def test_count_and_order_left_to_right(labels: list[int], sample) -> None:
    number, height, pen = written_number(sample, labels, [40.0] * (len(labels) - 1))
    pieces = find_digits(number)
    assert len(pieces) == len(labels)
    assert [piece.box[1] for piece in pieces] == sorted(piece.box[1] for piece in pieces)
    for piece, label in zip(pieces, labels):
        assert piece.image.shape == (28, 28) and piece.image.dtype == np.float32
        assert 0 <= piece.image.min() and piece.image.max() <= 1
        alone, _, _ = written_number(sample, [label], [], height, pen)  # alone, the same size and pen
        assert _similarity(piece.image, canvas_to_mnist(alone)) > 0.9
        top, left, bottom, right = piece.box
        only_this_one = np.zeros_like(number)
        only_this_one[..., 3] = 255
        only_this_one[top:bottom, left:right] = number[top:bottom, left:right]
        np.testing.assert_array_equal(piece.image, canvas_to_mnist(only_this_one))  # normalised exactly alike


def test_a_single_digit_reads_exactly_ink_canvas_to_mnist(sample) -> None:
    number = _number(sample, [3], [])
    [digit] = split_digits(number)
    np.testing.assert_array_equal(digit, canvas_to_mnist(number))


@pytest.mark.parametrize("labels", [[0, 8], [4, 4]])
def test_a_touching_pair_is_cut_in_two(labels: list[int], sample) -> None:
    touching = _number(sample, labels, [-12.0])
    assert ndimage.label(touching[..., 0] > 50)[1] == 1  # the two digits really are one piece of ink
    assert len(split_digits(touching)) == 2


def test_the_models_choose_the_cut_they_are_surest_of(trained_artifacts, sample) -> None:
    models = load_models(trained_artifacts)
    judge = sureness_judge(models)
    pairs = ([0, 8], [4, 4], [1, 7], [6, 9], [2, 3], [9, 1])
    read_right = 0
    for labels in pairs:
        cut = split_digits(_number(sample, labels, [-12.0]), judge)
        assert len(cut) == 2, labels
        vote = soft_vote([model.predict_proba(np.stack(cut)) for model in models.values()])
        read_right += list(vote.argmax(axis=1)) == labels
    assert read_right >= 4, read_right  # quick models on the small sample: measured 5 of 6


def test_a_wide_single_digit_stays_whole_when_the_models_judge(trained_artifacts, sample) -> None:
    judge = sureness_judge(load_models(trained_artifacts))
    wide_zero = np.asarray(Image.fromarray(_number(sample, [0], [])[..., 0]).resize((560, 280)))
    canvas = ink_canvas(np.pad(wide_zero, ((0, 0), (140, 140))))
    assert len(split_digits(canvas, judge)) == 1


def test_a_one_touching_a_zero_is_cut_though_the_zero_has_a_loop(trained_artifacts, sample) -> None:
    judge = sureness_judge(load_models(trained_artifacts))
    touching = _number(sample, [0, 1], [-12.0])  # the 0's hole is about half the pair's width
    assert ndimage.label(touching[..., 0] > 50)[1] == 1
    assert len(split_digits(touching, judge)) == 2


def _bars(shape: tuple[int, int], *boxes: tuple[int, int, int, int]) -> np.ndarray:
    """A mask of filled boxes, each (top, left, bottom, right)."""
    mask = np.zeros(shape, dtype=bool)
    for top, left, bottom, right in boxes:
        mask[top:bottom, left:right] = True
    return mask


def test_a_winding_cut_parts_interlocked_digits_where_no_straight_cut_can() -> None:
    shape = (280, 360)
    overhanging = _bars(shape, (40, 100, 240, 116), (40, 100, 56, 225))  # its top reaches over its neighbour
    underhanging = _bars(shape, (40, 240, 240, 256), (224, 130, 240, 256))  # its foot reaches under the first
    piece = overhanging | underhanging
    left, right = 100, 256
    straight = [_cut(piece, cut) for cut in _candidate_cuts(piece, left, right - left, 2, SEGMENTATION)]
    assert not any((a == overhanging).all() for a, _ in straight)
    winding = [_cut(piece, cut) for cut in _winding_cuts(piece, left, right - left, 2, SEGMENTATION)]
    a, b = winding[0]  # the path through the least ink, nearest where a digit should end
    assert (a == overhanging).all() and (b == underhanging).all()


def test_a_cut_through_crossing_strokes_is_also_tried_with_the_crossing_on_both_sides() -> None:
    shape = (280, 360)
    upright, across = _bars(shape, (40, 100, 240, 116)), _bars(shape, (132, 60, 148, 200))
    piece = upright | across
    columns = np.arange(shape[1])[None, :]
    plain = (piece & (columns < 116), piece & (columns >= 116))
    crop = ink_box(piece)
    [(wider_left, wider_right)] = _sharing_the_crossing(piece, crop, skeletonize(piece[crop]), [plain], SEGMENTATION)
    assert (wider_left >= plain[0]).all() and (wider_right >= plain[1]).all()
    assert wider_right[132:148, 100:116].all()  # the right side keeps the stroke across, where it crosses
    assert not wider_right[40:100, 100:116].any()  # but not the rest of the upright stroke
    assert wider_left[132:148, 116:120].all()


def test_strokes_that_cross_are_also_split_stroke_by_stroke() -> None:
    canvas = Image.new("L", (360, 280), 0)
    draw = ImageDraw.Draw(canvas)
    draw.line([(60, 40), (270, 240)], fill=255, width=14)  # the first digit's stroke runs on past the second's
    crossing_stroke = np.asarray(canvas) > 0
    canvas = Image.new("L", (360, 280), 0)
    ImageDraw.Draw(canvas).line([(230, 40), (230, 240)], fill=255, width=14)
    upright = np.asarray(canvas) > 0
    piece = crossing_stroke | upright

    def overlap(a: np.ndarray, b: np.ndarray) -> float:
        return float((a & b).sum() / (a | b).sum())

    crop = ink_box(piece)
    options = _stroke_options(piece, crop, skeletonize(piece[crop]), 2, 0.45 * 200, SEGMENTATION)
    assert max(min(overlap(a, crossing_stroke), overlap(b, upright)) for a, b in options) > 0.9
    cols = np.flatnonzero(piece.any(axis=0))
    straight = [_cut(piece, cut) for cut in _candidate_cuts(piece, int(cols[0]), len(cols), 2, SEGMENTATION)]
    assert max(min(overlap(a, crossing_stroke), overlap(b, upright)) for a, b in straight) < 0.9


def test_a_scribble_many_digits_wide_is_cut_first_among_straight_cuts_only() -> None:
    canvas = Image.new("L", NUMBER_CANVAS, 0)
    ImageDraw.Draw(canvas).line([(20 + 16 * i, 60 if i % 2 else 220) for i in range(51)], fill=255, width=14)
    asked: list[int] = []

    def judge(images: np.ndarray) -> np.ndarray:  # surer of any two sides than of the piece whole: cut on
        asked.append(len(images))
        return np.full(len(images), 0.9 if len(images) > 1 else 0.5)

    split_digits(ink_canvas(np.asarray(canvas)), judge)
    assert asked and asked[0] <= 2 * SEGMENTATION.cut_candidates  # the first cut: straight ones, both sides each
    assert max(asked) > 2 * SEGMENTATION.cut_candidates  # what is left, once narrow enough, gets every kind


def test_a_five_with_a_detached_bar_is_one_digit() -> None:
    canvas = Image.new("L", NUMBER_CANVAS, 0)
    draw = ImageDraw.Draw(canvas)
    draw.line([(300, 60), (390, 60)], fill=255, width=16)  # the bar, lifted off the body
    draw.line([(300, 90), (295, 140)], fill=255, width=16)
    draw.arc([(280, 120), (400, 230)], start=-100, end=150, fill=255, width=16)
    digits = split_digits(ink_canvas(np.asarray(canvas)))
    assert len(digits) == 1


def test_a_four_in_two_strokes_is_one_digit() -> None:
    canvas = Image.new("L", NUMBER_CANVAS, 0)
    draw = ImageDraw.Draw(canvas)
    draw.line([(330, 50), (300, 160), (400, 160)], fill=255, width=16)
    draw.line([(370, 100), (370, 240)], fill=255, width=16)  # the second stroke does not touch the first
    assert len(split_digits(ink_canvas(np.asarray(canvas)))) == 1


def test_specks_are_not_digits(sample) -> None:
    number = _number(sample, [1, 2, 3], [40.0, 40.0]).copy()
    rng = np.random.default_rng(0)
    for row, col in zip(rng.integers(0, NUMBER_CANVAS[1] - 4, 25), rng.integers(0, NUMBER_CANVAS[0] - 4, 25)):
        number[row : row + 3, col : col + 3, :3] = 255
    assert len(split_digits(number)) == 3


def test_a_markers_blot_is_dropped_but_a_short_stroke_of_the_same_pen_is_kept() -> None:
    pen = 40  # a fat marker: a blot is wider than the specks dropped for their size alone (a fifth of the height)
    canvas = Image.new("L", NUMBER_CANVAS, 0)
    draw = ImageDraw.Draw(canvas)
    draw.line([(200, 40), (200, 240)], fill=255, width=pen)  # a 1
    draw.ellipse([(260, 120), (260 + pen, 120 + pen)], fill=255)  # a blot beside it
    draw.line([(400, 40), (400, 240)], fill=255, width=pen)
    draw.line([(440, 60), (440 + 2 * pen, 60)], fill=255, width=pen)  # a short bar, two pens long
    mask = np.asarray(canvas) > 127
    lefts = sorted(int(np.flatnonzero(piece.any(axis=0))[0]) for piece in _pieces(mask, SEGMENTATION))
    assert len(lefts) == 3 and lefts[0] < 260 and lefts[1] > 260 + pen and lefts[2] >= 440  # the 1s and the bar


def test_a_photographed_number_is_read_like_the_canvas(sample) -> None:
    coverage, height, _ = number_coverage([nth_test_digit(sample, d) for d in (4, 7, 1)], [UPRIGHT] * 3, [45.0, 45.0],
                                          170.0, 5.0, NUMBER_CANVAS)
    photo = photograph(coverage, GREY_LIT, np.random.default_rng(1), height)
    assert photo.ndim == 3 and photo.shape[2] == 3
    pieces = find_digits(photo)
    assert len(pieces) == 3
    lefts = [piece.box[1] for piece in pieces]
    assert lefts == sorted(lefts) and all(0 <= left < NUMBER_CANVAS[0] for left in lefts)


def test_the_public_split_digits_lets_the_served_models_judge(trained_artifacts, sample,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ARTIFACTS_ENV, str(trained_artifacts))
    preprocess.served_models_judge.cache_clear()
    try:
        assert preprocess.served_models_judge() is not None
        number = _number(sample, [1, 7], [-12.0])
        assert len(preprocess.split_digits(number)) == 2
        assert [d.shape for d in preprocess.split_digits(_number(sample, [4, 0, 7], [40.0, 40.0]))] == [(28, 28)] * 3
    finally:
        preprocess.served_models_judge.cache_clear()


@pytest.mark.parametrize("photographed", [False, True])
def test_the_perfect_cut_yardstick_finds_every_digit_and_normalises_like_the_segmentation(trained_artifacts, sample,
                                                                                          photographed) -> None:
    models = load_models(trained_artifacts)
    papers = (GREY_LIT,) if photographed else None
    numbers = list(iter_numbers(sample.test_images, sample.test_labels, 12, 3, papers, own_ink=True))
    for number in numbers:
        perfect = read_perfectly_cut(models, number.image, number.own_ink, 0.6)
        assert len(perfect.digits) == len(number.digits)
        assert [d.piece.box[1] for d in perfect.digits] == sorted(d.piece.box[1] for d in perfect.digits)
    apart = next(n for n in numbers if not n.touching and len(find_digits(n.image)) == len(n.digits))
    for found, cut in zip(find_digits(apart.image), read_perfectly_cut(models, apart.image, apart.own_ink, 0.6).digits):
        assert _similarity(found.image, cut.piece.image) > 0.97  # the same digit, normalised the same way
    assert not list(iter_numbers(sample.test_images, sample.test_labels, 1, 3, None))[0].own_ink  # only when asked
