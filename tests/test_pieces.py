"""The piece counter: trained with the models, it tells touching digits from one digit and guides the cuts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import written_number
from PIL import Image

from pipelines import preprocess
from pipelines.evaluation.analysis import sureness_judge
from pipelines.evaluation.drawn import ink_canvas
from pipelines.reading.canvas import read_ink
from pipelines.reading.cuts import sides_match
from pipelines.reading.pieces import piece_features
from pipelines.reading.segment import split_digits
from pipelines.serving.settings import ARTIFACTS_ENV
from pipelines.store.artifacts import ArtifactStore
from pipelines.store.pieces import MODEL_FILE, STORE_NAME, load_piece_counter
from pipelines.store.registry import load_models
from pipelines.training.pieces import TOUCHING_PAIRS, _chosen_cuts, cut_set, made_up_digits, made_up_piece
from pipelines.training.train import counter_wanted, train

PAIRS = ([0, 8], [4, 4], [1, 7], [6, 9], [2, 3], [9, 1], [5, 0], [3, 8], [7, 2], [1, 1])


def _written(sample, labels: list[int], gap: float, nth: int = 0) -> np.ndarray:
    """Test digits (never trained on) written upright on the number canvas, `gap` apart (negative: overlapping)."""
    return written_number(sample, labels, [gap] * (len(labels) - 1), nth=nth)[0]


def test_a_made_up_piece_of_several_digits_is_wider_than_one_and_the_features_have_one_length(sample) -> None:
    rng = np.random.default_rng(0)
    digits = sample.train_images[:3].astype(np.float32) / 255.0
    one, three = made_up_piece(digits[:1], rng), made_up_piece(digits, rng)
    assert one.dtype == bool and one.any() and three.any()
    assert three.shape[1] > 2 * one.shape[1]
    features = piece_features([one, three])
    assert features.shape == (2, piece_features([one]).shape[1]) and np.isfinite(features).all()
    assert features[1, -2] > 2 * features[0, -2]  # the aspect ratio


def test_made_up_digits_are_each_digits_own_ink_and_together_the_piece(sample) -> None:
    digits = sample.train_images[:2].astype(np.float32) / 255.0
    own = made_up_digits(digits, np.random.default_rng(3))
    piece = made_up_piece(digits, np.random.default_rng(3))
    assert len(own) == 2 and all(ink.shape == piece.shape and ink.any() for ink in own)
    assert np.array_equal(own[0] | own[1], piece)
    assert np.argwhere(own[0])[:, 1].mean() < np.argwhere(own[1])[:, 1].mean()  # left to right


def test_sides_match_the_digits_fully_either_way_round_and_less_when_a_cut_takes_ink_across() -> None:
    first, second = np.zeros((20, 40), dtype=bool), np.zeros((20, 40), dtype=bool)
    first[2:18, 2:20], second[2:18, 20:38] = True, True
    assert sides_match((first, second), (first, second)) == 1.0
    assert sides_match((second, first), (first, second)) == 1.0  # the reading orders the digits by centre
    taken = second.copy()
    taken[:, 14:20] = first[:, 14:20]
    assert 0.6 < sides_match((first & ~taken, taken), (first, second)) < 0.8  # a third of the first digit across


def test_the_trained_cut_scorer_likes_cuts_that_part_touching_digits(trained_artifacts, sample) -> None:
    """On touching pairs made up from test digits (never trained on), the cuts it likes best match the digits
    better than the cuts tried do on average and than the straight cut through least ink."""
    scorer = load_piece_counter(trained_artifacts).cut_scorer
    digits = sample.test_images.astype(np.float32) / 255.0
    features, matches, pieces = cut_set(digits, 40, 0, scorer.features, TOUCHING_PAIRS)
    judged = _chosen_cuts(scorer.model.predict(features), matches, pieces)
    chosen, least_ink = judged["scorer_cut_match"], judged["first_cut_match"]
    tried = np.mean([matches[pieces == piece].mean() for piece in np.unique(pieces)])
    assert chosen > tried + 0.04 and chosen > least_ink, (chosen, tried, least_ink)  # quick scorer: 0.70, 0.63, 0.64


def test_the_segmentation_weighs_every_cut_of_a_touching_pair_with_the_scorer_the_counter_carries(
        trained_artifacts, sample) -> None:
    counter, asked = load_piece_counter(trained_artifacts), []

    def scoring(options, images, writing_height):
        asked.append((len(options), len(images)))
        return counter.cut_scorer(options, images, writing_height)

    carrying = dataclasses.replace(counter, cut_scorer=scoring)
    digits = split_digits(_written(sample, [0, 8], -12.0), sureness_judge(load_models(trained_artifacts)), carrying)
    assert len(digits) == 2 and len(asked) == 1, asked
    cuts, sides = asked[0]
    assert cuts > 12 and sides == 2 * cuts  # straight, winding, shared and stroke-by-stroke cuts, both sides each


def test_the_trained_counter_tells_touching_digits_from_one_digit(trained_artifacts, sample) -> None:
    counter = load_piece_counter(trained_artifacts)
    assert counter is not None and counter.run_id
    several = counter([read_ink(_written(sample, labels, -12.0)).mask for labels in PAIRS])
    one = counter([read_ink(_written(sample, [digit], 0.0, nth=1)).mask for digit in range(10)])
    assert sum(p >= 0.5 for p in several) >= 8, np.round(several, 2)  # quick counter on the sample: 9 of 10 (not 1 1)
    assert sum(p < 0.5 for p in one) >= 8, np.round(one, 2)  # measured 10 of 10, none above 0.01


def test_with_the_counter_touching_pairs_are_cut_and_a_wide_zero_is_not(trained_artifacts, sample) -> None:
    judge, counter = sureness_judge(load_models(trained_artifacts)), load_piece_counter(trained_artifacts)
    cut_in_two = sum(len(split_digits(_written(sample, labels, -12.0), judge, counter)) == 2 for labels in PAIRS)
    assert cut_in_two >= 8, cut_in_two  # quick counter on the sample: 8 of 10 (two remainders cut again)
    wide_zero = np.asarray(Image.fromarray(_written(sample, [0], 0.0)[..., 0]).resize((560, 280)))
    assert len(split_digits(ink_canvas(np.pad(wide_zero, ((0, 0), (140, 140)))), judge, counter)) == 1
    apart = _written(sample, [4, 0, 7, 1], 40.0)
    assert len(split_digits(apart, judge, counter)) == 4


def test_the_counter_is_asked_about_all_of_a_numbers_pieces_in_one_call(trained_artifacts, sample) -> None:
    counter, asked = load_piece_counter(trained_artifacts), []

    def counting(masks):
        asked.append(len(masks))
        return counter(masks)

    digits = split_digits(_written(sample, [4, 0, 7, 2, 5], 40.0), None, counting)
    assert len(digits) == 5 and asked == [5], asked  # five digits apart, each wide enough to ask about


def test_no_counter_or_a_damaged_one_is_none_and_the_segmentation_goes_on(artifacts_copy: Path, tmp_path: Path,
                                                                          sample) -> None:
    assert load_piece_counter(tmp_path / "nothing-trained") is None
    run, _ = ArtifactStore(artifacts_copy).latest_good(STORE_NAME)
    (run.path / MODEL_FILE).write_bytes(b"not a pickle")
    assert load_piece_counter(artifacts_copy) is None  # the checksum no longer matches
    assert len(split_digits(_written(sample, [4, 0, 7], 40.0), None, None)) == 3


def test_training_one_model_leaves_a_trained_counter_alone(artifacts_copy: Path) -> None:
    store = ArtifactStore(artifacts_copy)
    before = [run.run_id for run in store.runs(STORE_NAME)]
    _, failures = train(["svm"], "quick", "sample", artifacts_copy, show_bar=False)
    assert not failures
    assert [run.run_id for run in store.runs(STORE_NAME)] == before
    assert not counter_wanted(store, ["svm", "rf", "cnn"], "quick")
    assert counter_wanted(store, ["svm", "rf", "cnn"], "full")  # the stored counter is the quick profile's
    assert counter_wanted(store, [STORE_NAME], "quick")


def test_the_public_split_digits_asks_the_served_counter(trained_artifacts, sample,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ARTIFACTS_ENV, str(trained_artifacts))
    preprocess.served_piece_counter.cache_clear()
    try:
        counter = preprocess.served_piece_counter()
        assert counter is not None and counter.run_id == load_piece_counter(trained_artifacts).run_id
    finally:
        preprocess.served_piece_counter.cache_clear()
