"""Why this prediction: the CNN's saliency points at what matters, the forest's map is its importances over the
deskewed drawing, and the neighbour index finds look-alikes, survives the store and fails loudly when broken."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from pipelines.benchmarks import explain as explain_bench
from pipelines.data.sources import MnistData
from pipelines.evaluation import neighbours
from pipelines.evaluation.explain import EXPLAIN, CnnSaliency, Explainer, heatmap, hex_rgb
from pipelines.evaluation.neighbours import build_index, ensure_index, load_index
from pipelines.evaluation.robustness import as_unit_float
from pipelines.models.features import deskew
from pipelines.serving.arena import Arena, load_arena
from pipelines.store.artifacts import ArtifactError, ArtifactStore

INK = 0.3
PATCH = 6
DIGITS = 40
OCCLUDED_DIGITS = 100
RANDOM_PATCHES = 5


@pytest.fixture(scope="module")
def arena(trained_artifacts: Path) -> Arena:
    """Served as trained (TensorFlow for the CNN), so the CNN has its saliency map."""
    return load_arena(trained_artifacts, serving="native")


@pytest.fixture(scope="module")
def served(trained_artifacts: Path) -> Arena:
    """Served as the dashboard serves them: the SVM and the CNN through ONNX Runtime."""
    return load_arena(trained_artifacts, serving="onnx")


@pytest.fixture(scope="module")
def test_digits(sample: MnistData) -> tuple[np.ndarray, np.ndarray]:
    return as_unit_float(sample.test_images[:DIGITS]), sample.test_labels[:DIGITS]


def _occluded(image: np.ndarray, centre: tuple[int, int]) -> np.ndarray:
    """The image with a PATCH×PATCH black square centred on `centre`."""
    covered = image.copy()
    top, left = (max(0, c - PATCH // 2) for c in centre)
    covered[top : top + PATCH, left : left + PATCH] = 0.0
    return covered


def test_saliency_is_a_finite_non_negative_map_of_the_cnns_answer(arena: Arena, test_digits) -> None:
    images, _ = test_digits
    values, digit = arena.explainer.saliencies["cnn"](images[0])
    assert values.shape == (28, 28) and np.isfinite(values).all()
    assert values.min() >= 0 and values.max() > 0
    assert digit == int(arena.models["cnn"].predict_proba(images[:1]).argmax())
    np.testing.assert_array_equal(arena.explainer.saliencies["cnn"](images[0])[0], values)  # seeded noise


def test_saliency_lies_on_the_ink(arena: Arena, test_digits) -> None:
    """Gradient × input marks the strokes: a map shifted or transposed against its image would fail this."""
    images, _ = test_digits
    for image in images:
        values, _ = arena.explainer.saliencies["cnn"](image)
        near_ink = ndimage.binary_dilation(image > 0)
        assert values[near_ink].sum() >= 0.95 * values.sum()
        assert values[image >= INK].mean() > 5 * values[~near_ink].mean()


def _deletion_drops(model, explain_map, images: np.ndarray) -> tuple[float, float, float]:
    """Mean fall in the answer's probability when covering the map's peak, a random piece of ink, a random place."""
    rng = np.random.default_rng(0)
    salient_drops, ink_drops, anywhere_drops = [], [], []
    for image in images:
        values, digit = explain_map(image)
        peak = np.unravel_index(np.argmax(ndimage.uniform_filter(values, PATCH, mode="constant")), values.shape)
        inked = np.argwhere(image >= INK)
        on_ink = [tuple(inked[i]) for i in rng.integers(len(inked), size=RANDOM_PATCHES)]
        anywhere = [tuple(rng.integers(0, 28, size=2)) for _ in range(RANDOM_PATCHES)]
        covered = [_occluded(image, centre) for centre in [peak, *on_ink, *anywhere]]
        clean, salient, *others = model.predict_proba(np.stack([image, *covered]))[:, digit]
        salient_drops.append(clean - salient)
        ink_drops.append(clean - np.mean(others[:RANDOM_PATCHES]))
        anywhere_drops.append(clean - np.mean(others[RANDOM_PATCHES:]))
    return float(np.mean(salient_drops)), float(np.mean(ink_drops)), float(np.mean(anywhere_drops))


def test_covering_the_most_salient_region_costs_more_confidence_than_covering_other_ink(arena: Arena,
                                                                                       sample: MnistData) -> None:
    """Deletion check: the peak of the map matters more to the CNN than a random piece of the stroke of the same
    size (a map that merely traced the ink would do no better than the random piece)."""
    salient, ink, anywhere = _deletion_drops(arena.models["cnn"], arena.explainer.saliencies["cnn"],
                                             as_unit_float(sample.test_images[:OCCLUDED_DIGITS]))
    assert salient > 1.5 * ink and salient > 5 * anywhere, (salient, ink, anywhere)


@pytest.mark.parametrize("name", ["cnn", "svm"])
def test_the_occlusion_peak_of_a_served_graph_costs_more_than_other_ink(served: Arena, sample: MnistData,
                                                                        name: str) -> None:
    """The same deletion check for the forward-only maps of the models served through ONNX Runtime."""
    assert served.explainer.occlusions[name].model.serves_with == "ONNX Runtime"
    salient, ink, anywhere = _deletion_drops(served.models[name], served.explainer.occlusions[name],
                                             as_unit_float(sample.test_images[:OCCLUDED_DIGITS]))
    assert salient > 1.5 * ink and salient > 5 * anywhere, (salient, ink, anywhere)


def test_an_occlusion_map_lies_on_the_ink_and_explains_the_answer(served: Arena, test_digits) -> None:
    images, _ = test_digits
    for image in images[:10]:
        values, digit = served.explainer.occlusions["cnn"](image)
        assert values.shape == (28, 28) and values.min() >= 0 and values[image == 0].sum() == 0
        assert digit == int(served.models["cnn"].predict_proba(image[None]).argmax())


def test_a_network_without_a_softmax_head_is_refused() -> None:
    import keras

    inputs = keras.Input(shape=(28, 28, 1))
    network = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="softmax Dense layer"):
        CnnSaliency(network)


def test_the_forest_map_is_its_importances_over_the_deskewed_drawing(arena: Arena, test_digits) -> None:
    images, _ = test_digits
    explanation = arena.explainer.explain(images[1])
    forest_map = next(m for m in explanation.maps if m.model == "rf")
    assert forest_map.method == "importance" and forest_map.digit is None
    assert forest_map.values.shape == (28, 28) and forest_map.values.min() >= 0
    assert forest_map.values.sum() == pytest.approx(1.0)
    forest = arena.models["rf"].classifier.estimator[-1]
    np.testing.assert_allclose(forest_map.values.ravel(), forest.feature_importances_, rtol=1e-6)
    np.testing.assert_allclose(forest_map.seen, deskew(images[1]), atol=1e-6)
    assert not np.allclose(forest_map.seen, images[1])


def test_each_model_gets_the_map_it_can_give_and_missing_ones_are_left_out(arena: Arena, served: Arena,
                                                                           test_digits) -> None:
    images, _ = test_digits
    assert {m.model: m.method for m in arena.explainer.explain(images[2]).maps} == {
        "cnn": "saliency", "rf": "importance", "svm": "occlusion"}
    assert {m.model: m.method for m in served.explainer.explain(images[2]).maps} == {
        "cnn": "occlusion", "rf": "importance", "svm": "occlusion"}
    only_svm = Explainer({"svm": arena.models["svm"]}, None).explain(images[2])
    assert [m.method for m in only_svm.maps] == ["occlusion"] and only_svm.neighbours is None
    no_cnn = Explainer({name: arena.models[name] for name in ("svm", "rf")}, arena.neighbours).explain(images[2])
    assert [m.model for m in no_cnn.maps] == ["rf", "svm"] and len(no_cnn.neighbours.labels) == EXPLAIN.neighbours_shown


def test_heatmap_runs_from_black_to_the_model_colour_with_the_drawing_outlined_in_white() -> None:
    scale = EXPLAIN.map_scale
    values = np.zeros((28, 28))
    values[3, 4] = 2.0
    values[10:14, 10:14] = 1.0
    ink = np.zeros((28, 28))
    ink[10:14, 10:14] = 1.0
    picture = heatmap(values, ink, "#E45756")
    assert picture.shape == (28 * scale, 28 * scale, 3) and picture.dtype == np.uint8
    np.testing.assert_array_equal(picture[3 * scale : 4 * scale, 4 * scale : 5 * scale], np.broadcast_to(
        hex_rgb("#E45756"), (scale, scale, 3)))  # the peak, at the model's colour
    np.testing.assert_array_equal(picture[0, 0], [0, 0, 0])
    white = (picture == 255).all(axis=2)
    rows, cols = np.nonzero(white)
    assert rows.min() >= 10 * scale - 1 and rows.max() <= 14 * scale and cols.min() >= 10 * scale - 1
    assert not white[12 * scale, 12 * scale] and picture[12 * scale, 12 * scale, 0] > 0  # inside: the map shows
    assert white[12 * scale].sum() == 2  # one line across: the left and right edges of the square
    assert (heatmap(np.zeros((28, 28)), ink, "#E45756") > 0).any(axis=2).sum() == white.sum()  # no map: only ink


def test_training_stores_the_index_and_the_arena_loads_it(arena: Arena, sample: MnistData) -> None:
    assert arena.neighbours is not None and arena.neighbours_error is None
    assert len(arena.neighbours.labels) == len(sample.train_labels)  # the sample is smaller than the bound
    assert arena.neighbours.images.dtype == np.uint8


def test_the_index_is_bounded_balanced_and_seeded(sample: MnistData) -> None:
    settings = dataclasses.replace(EXPLAIN, index_size=1000, index_components=20)
    index = build_index(sample.train_images, sample.train_labels, settings)
    assert len(index.labels) == 1000 and np.bincount(index.labels).tolist() == [100] * 10
    assert index.components == 20
    np.testing.assert_array_equal(index.images, sample.train_images[index.train_indices])
    np.testing.assert_array_equal(build_index(sample.train_images, sample.train_labels, settings).train_indices,
                                  index.train_indices)
    with pytest.raises(ValueError, match="uint8"):
        build_index(as_unit_float(sample.train_images), sample.train_labels, settings)


def test_the_index_round_trips_through_the_store(sample: MnistData, tmp_path: Path, test_digits) -> None:
    small = dataclasses.replace(sample, train_images=sample.train_images[:600], train_labels=sample.train_labels[:600])
    store = ArtifactStore(tmp_path)
    path = ensure_index(store, small)
    assert path == store.neighbours_path(small.fingerprint) and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # written atomically: no temporary left
    loaded = load_index(store, small.fingerprint)
    built = build_index(small.train_images, small.train_labels)
    np.testing.assert_array_equal(loaded.images, built.images)
    first, second = loaded.nearest(test_digits[0][0], 5), built.nearest(test_digits[0][0], 5)
    np.testing.assert_array_equal(first.train_indices, second.train_indices)
    np.testing.assert_allclose(first.distances, second.distances, rtol=1e-5)


def test_a_training_image_is_its_own_nearest_neighbour(arena: Arena, sample: MnistData) -> None:
    for position in (0, 1234, len(sample.train_labels) - 1):
        found = arena.neighbours.nearest(as_unit_float(sample.train_images[position]), EXPLAIN.neighbours_shown)
        assert found.train_indices[0] == position and found.distances[0] == pytest.approx(0.0, abs=1e-3)
        assert found.labels[0] == sample.train_labels[position]
        assert (np.diff(found.distances) >= 0).all()


def test_neighbours_of_a_test_digit_mostly_share_its_label(arena: Arena, test_digits) -> None:
    images, labels = test_digits
    votes = [arena.neighbours.nearest(image, EXPLAIN.neighbours_shown).vote()[0] for image in images]
    assert np.mean(np.array(votes) == labels) >= 0.85


def test_a_missing_index_is_named_and_the_models_still_explain(artifacts_copy: Path, test_digits) -> None:
    for path in ArtifactStore(artifacts_copy).root.glob("datasets/*.neighbours.joblib"):
        path.unlink()
    arena = load_arena(artifacts_copy)
    assert arena.neighbours is None
    assert "neighbours.joblib: missing" in arena.neighbours_error and "retrain" in arena.neighbours_error
    explanation = arena.explainer.explain(test_digits[0][0])
    assert explanation.neighbours is None and len(explanation.maps) == 3


@pytest.mark.parametrize(("payload", "message"), [
    (b"not a pickle at all", "the neighbour index cannot be read"),
    (None, "not a neighbour index"),
])
def test_a_corrupt_index_is_an_artifact_error_naming_the_file(payload: bytes | None, message: str,
                                                              sample: MnistData, tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    if payload is None:
        store.save_neighbours(sample.fingerprint, {"images": sample.train_images[:3]})  # readable, but not an index
    else:
        store.neighbours_path(sample.fingerprint).parent.mkdir(parents=True)
        store.neighbours_path(sample.fingerprint).write_bytes(payload)
    with pytest.raises(ArtifactError, match=message) as raised:
        load_index(store, sample.fingerprint)
    assert str(store.neighbours_path(sample.fingerprint)) in str(raised.value)


def test_the_command_builds_the_index_training_would_have_built(trained_artifacts: Path, tmp_path: Path) -> None:
    """For models trained before the index existed: same profile and data, same fingerprint, same images."""
    assert neighbours.main(["--profile", "quick", "--data", "sample", "--artifacts", str(tmp_path)]) == 0
    [built] = tmp_path.glob("datasets/*.neighbours.joblib")
    assert (trained_artifacts / "datasets" / built.name).is_file()
    fingerprint = built.name.removesuffix(".neighbours.joblib")
    np.testing.assert_array_equal(load_index(ArtifactStore(tmp_path), fingerprint).train_indices,
                                  load_index(ArtifactStore(trained_artifacts), fingerprint).train_indices)


def test_the_latency_benchmark_writes_its_section(trained_artifacts: Path, tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    argv = ["--artifacts", str(trained_artifacts), "--data", "sample", "--count", "10", "--out", str(out)]
    assert explain_bench.main(argv) == 0
    section = out.read_text()
    assert "<!-- begin explain-latency -->" in section and "<!-- end explain-latency -->" in section
    assert all(part in section for part in ("whole explanation", "cnn occlusion", "svm occlusion", "rf importance",
                                            "| neighbours |"))
