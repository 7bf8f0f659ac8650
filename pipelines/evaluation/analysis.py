"""Comparisons of trained models that the dashboard shows, computed without Streamlit.

Everything here reads what training stored (metrics, test-set probabilities,
the test images) or asks the models for predictions; the pages only draw it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from pipelines.config import N_CLASSES

ConfusionView = Literal["counts", "row-normalised", "errors only"]
CONFUSION_VIEWS: tuple[ConfusionView, ...] = ("counts", "row-normalised", "errors only")


@dataclass(frozen=True)
class Reference:
    """A published test error on MNIST, to read our numbers against."""

    method: str
    error_percent: float
    source: str


LECUN_TABLE = "LeCun, Cortes & Burges, The MNIST database of handwritten digits (yann.lecun.com/exdb/mnist)"
LITERATURE: tuple[Reference, ...] = (
    Reference("Linear classifier (1-layer NN)", 12.0, f"LeCun et al. 1998, in {LECUN_TABLE}"),
    Reference("K-nearest neighbours, Euclidean (L2)", 5.0, f"LeCun et al. 1998, in {LECUN_TABLE}"),
    Reference("SVM, Gaussian kernel", 1.4, LECUN_TABLE),
    Reference("LeNet-5 convolutional network", 0.95, f"LeCun et al. 1998, in {LECUN_TABLE}"),
    Reference("Committee of 35 convolutional networks", 0.23,
              f"Cireșan, Meier & Schmidhuber, CVPR 2012, in {LECUN_TABLE}"),
)
"""Trained on all 60,000 training images and measured on the 10,000 test images."""


@dataclass(frozen=True)
class LeaderboardColumn:
    """One leaderboard column: the metric it reads, and whether more is better."""

    title: str
    higher_is_better: bool


LEADERBOARD_COLUMNS: dict[str, LeaderboardColumn] = {
    "accuracy": LeaderboardColumn("Accuracy", True),
    "macro_f1": LeaderboardColumn("Macro-F1", True),
    "log_loss": LeaderboardColumn("Log loss", False),
    "ece": LeaderboardColumn("Calibration error (ECE)", False),
    "train_seconds": LeaderboardColumn("Training time (s)", False),
    "latency_ms": LeaderboardColumn("Latency, one image (ms)", False),
    "artifact_mb": LeaderboardColumn("Artifact size (MB)", False),
    "people_accuracy": LeaderboardColumn("People's drawings", True),
}
"""`people_accuracy`: accuracy on the held-out labelled drawings, shown once there are enough of them."""


def leaderboard(metrics: Mapping[str, Mapping[str, Any]], manifests: Mapping[str, Mapping[str, Any]],
                people: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per model (indexed by its name): the scored columns, then when and on what it was trained.

    `people`: each model's accuracy on the held-out labelled drawings; the column appears only when given.
    """
    rows = []
    for name, row in metrics.items():
        manifest = manifests.get(name, {})
        data = manifest.get("data", {})
        source = data.get("source", row.get("data_source", "?"))
        n_train = data.get("n_train", row.get("n_train"))
        rows.append({
            "model": name,
            "title": row.get("title", name),
            "accuracy": row["accuracy"],
            "macro_f1": row["macro_f1"],
            "log_loss": row["log_loss"],
            "ece": row["ece"],
            "train_seconds": row["train_seconds"],
            "latency_ms": row["latency_ms"]["median"],
            "artifact_mb": row["artifact_bytes"] / 1e6,
            **({"people_accuracy": people.get(name, np.nan)} if people is not None else {}),
            "trained": manifest.get("finished_at", "?"),
            "profile": row.get("profile", manifest.get("profile", "?")),
            "data": f"{source}, {n_train:,} training images" if isinstance(n_train, int) else str(source),
        })
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame(columns=["model"]).set_index("model")


def best_models(board: pd.DataFrame) -> dict[str, str]:
    """For each scored column, the model with the best value (ties go to the first)."""
    best = {}
    for column, spec in LEADERBOARD_COLUMNS.items():
        if column in board and board[column].notna().any():
            best[column] = str(board[column].idxmax() if spec.higher_is_better else board[column].idxmin())
    return best


def plain_reading(board: pd.DataFrame, n_test: int | None = None) -> list[str]:
    """A few sentences a non-specialist can follow about what the leaderboard says."""
    if board.empty:
        return []
    best = best_models(board)
    leader = board.loc[best["accuracy"]]
    sentences = []
    if n_test:
        mistakes = round((1 - leader["accuracy"]) * n_test)
        sentences.append(f"The most accurate model is the **{leader['title']}**: it reads {leader['accuracy']:.1%} of "
                         f"the {n_test:,} test digits correctly, so it gets about {mistakes:,} of them wrong.")
    else:
        sentences.append(f"The most accurate model is the **{leader['title']}** ({leader['accuracy']:.1%}).")
    if len(board) > 1:
        worst = board.loc[board["accuracy"].idxmin()]
        gap = leader["accuracy"] - worst["accuracy"]
        variance = sum(acc * (1 - acc) for acc in (leader["accuracy"], worst["accuracy"]))
        noise = 2 * np.sqrt(variance / n_test) if n_test else 0.0  # two standard errors of the difference
        sentences.append(f"The gap to the least accurate, the {worst['title']}, is {gap:.1%} of the test set"
                         + (" — within what a different sample of test digits could change." if gap < noise
                            else ", more than test-set luck explains." if n_test else "."))
    calibrated = board.loc[best["ece"]]
    sentences.append(f"The {calibrated['title']} has the most trustworthy confidence (calibration error "
                     f"{calibrated['ece']:.3f}): when it says 90 %, it is right about 90 % of the time.")
    fastest = board.loc[best["latency_ms"]]
    sentences.append(f"The {fastest['title']} answers fastest, in {fastest['latency_ms']:.1f} ms per image; "
                     f"the {board.loc[best['train_seconds'], 'title']} was quickest to train.")
    reference = min(LITERATURE, key=lambda ref: abs(ref.error_percent - (1 - leader["accuracy"]) * 100))
    sentences.append(f"Its {(1 - leader['accuracy']) * 100:.2f} % error is closest to the published "
                     f"{reference.method} ({reference.error_percent} %); published numbers use all 60,000 "
                     "training images, so models trained on fewer images should fall short of them.")
    return sentences


def per_class_frame(metrics: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Long table (model, digit, metric, value) of per-class precision, recall and F1."""
    rows = [
        {"model": name, "digit": str(digit), "metric": metric, "value": float(value)}
        for name, row in metrics.items()
        for metric in ("precision", "recall", "f1")
        for digit, value in enumerate(row["per_class"][metric])
    ]
    return pd.DataFrame(rows, columns=["model", "digit", "metric", "value"])


def reliability_frame(metrics: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Non-empty reliability bins of every model: mean confidence against accuracy."""
    rows = [
        {"model": name, "confidence": b["confidence"], "accuracy": b["accuracy"], "count": b["count"]}
        for name, row in metrics.items()
        for b in row.get("reliability", [])
        if b["count"]
    ]
    return pd.DataFrame(rows, columns=["model", "confidence", "accuracy", "count"])


def confusion_view(matrix: Sequence[Sequence[int]] | np.ndarray, view: ConfusionView) -> np.ndarray:
    """The confusion matrix as counts, as shares of each true digit, or with the diagonal blanked."""
    counts = np.asarray(matrix, dtype=float)
    if view == "counts":
        return counts
    if view == "row-normalised":
        totals = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    if view == "errors only":
        errors = counts.copy()
        np.fill_diagonal(errors, np.nan)
        return errors
    raise ValueError(f"unknown confusion view {view!r}: choose from {', '.join(CONFUSION_VIEWS)}")


@dataclass(frozen=True)
class ConfusedPair:
    """How often one digit was read as another."""

    true: int
    predicted: int
    count: int
    share_of_true: float


def most_confused_pairs(matrix: Sequence[Sequence[int]] | np.ndarray, top: int) -> list[ConfusedPair]:
    """The `top` off-diagonal cells with the most test images, largest first (empty cells left out)."""
    counts = np.asarray(matrix, dtype=int)
    totals = counts.sum(axis=1)
    cells = [(counts[t, p], t, p) for t in range(len(counts)) for p in range(len(counts)) if t != p and counts[t, p]]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [ConfusedPair(t, p, int(n), float(n / totals[t])) for n, t, p in cells[:top]]


def cell_indices(labels: np.ndarray, predictions: np.ndarray, true: int, predicted: int) -> np.ndarray:
    """Indices of the test images of one confusion-matrix cell."""
    return np.flatnonzero((labels == true) & (predictions == predicted))


def mistakes(probabilities: np.ndarray, labels: np.ndarray, true: int | None = None,
             predicted: int | None = None) -> pd.DataFrame:
    """Misclassified test images, most confident first: index, true, predicted, confidence."""
    guesses = probabilities.argmax(axis=1)
    wrong = guesses != labels
    if true is not None:
        wrong &= labels == true
    if predicted is not None:
        wrong &= guesses == predicted
    index = np.flatnonzero(wrong)
    frame = pd.DataFrame({"index": index, "true": labels[index].astype(int), "predicted": guesses[index],
                          "confidence": probabilities[index, guesses[index]]})
    return frame.sort_values(["confidence", "index"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _predictions(probabilities: Mapping[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({name: proba.argmax(axis=1) for name, proba in probabilities.items()})


def disagreements(probabilities: Mapping[str, np.ndarray], labels: np.ndarray, true: int | None = None,
                  predicted: int | None = None) -> pd.DataFrame:
    """Test images on which the models do not all give the same answer, with each model's answer."""
    answers = _predictions(probabilities)
    keep = answers.nunique(axis=1) > 1
    return _filtered(answers, labels, keep, true, predicted)


def all_wrong(probabilities: Mapping[str, np.ndarray], labels: np.ndarray, true: int | None = None,
              predicted: int | None = None) -> pd.DataFrame:
    """Test images every model gets wrong, with each model's answer."""
    answers = _predictions(probabilities)
    keep = answers.ne(pd.Series(labels), axis=0).all(axis=1)
    return _filtered(answers, labels, keep, true, predicted)


def _filtered(answers: pd.DataFrame, labels: np.ndarray, keep: pd.Series, true: int | None,
              predicted: int | None) -> pd.DataFrame:
    """Rows kept, narrowed to a true digit and to images that some model read as `predicted`."""
    if true is not None:
        keep &= labels == true
    if predicted is not None:
        keep &= answers.eq(predicted).any(axis=1)
    frame = answers[keep].copy()
    frame.insert(0, "true", labels[keep.to_numpy()].astype(int))
    return frame.rename_axis("index").reset_index()


def soft_vote(probabilities: Sequence[np.ndarray]) -> np.ndarray:
    """The ensemble that averages the models' probabilities."""
    if not probabilities:
        raise ValueError("a soft vote needs at least one model")
    return np.mean(np.stack([np.asarray(p, dtype=float) for p in probabilities]), axis=0)


@dataclass(frozen=True)
class Agreement:
    """Whether the models give the same answer: `unanimous`, `majority` or `split`."""

    kind: Literal["unanimous", "majority", "split"]
    digit: int | None
    votes: int
    voters: int

    @property
    def label(self) -> str:
        if self.kind == "unanimous":
            return f"All {self.voters} models agree: {self.digit}"
        if self.kind == "majority":
            return f"{self.votes} of {self.voters} models say {self.digit}"
        return f"The {self.voters} models disagree"


def agreement(answers: Sequence[int]) -> Agreement:
    """How many models agree on the most common answer."""
    if not answers:
        return Agreement("split", None, 0, 0)
    digit, votes = Counter(int(a) for a in answers).most_common(1)[0]
    if votes == len(answers):
        return Agreement("unanimous", digit, votes, len(answers))
    if votes > len(answers) / 2:
        return Agreement("majority", digit, votes, len(answers))
    return Agreement("split", None, votes, len(answers))


@dataclass(frozen=True)
class Verdict:
    """The arena's answer for one drawing: a digit, or "not sure" with the reason."""

    digit: int | None
    confidence: float
    reason: str

    @property
    def sure(self) -> bool:
        return self.digit is not None


def verdict(probabilities: Sequence[np.ndarray], sure_above: float) -> Verdict:
    """The soft vote's digit when it is confident and no model dissents; otherwise "not sure".

    A confident wrong digit teaches a user more harm than an honest "not sure",
    and disagreement between models is the clearest sign of an ambiguous drawing.
    """
    vote = soft_vote(probabilities)
    digit, confidence = int(vote.argmax()), float(vote.max())
    consensus = agreement([int(np.argmax(p)) for p in probabilities])
    if consensus.kind != "unanimous":
        return Verdict(None, confidence, f"the models disagree ({consensus.label.lower()})")
    if confidence < sure_above:
        return Verdict(None, confidence, f"the ensemble is only {confidence:.0%} sure (below {sure_above:.0%})")
    return Verdict(digit, confidence, f"all models agree and the ensemble is {confidence:.0%} sure")


@dataclass(frozen=True)
class LivePrediction:
    """One model's answer for one image, and how long it took."""

    model: str
    title: str
    probabilities: np.ndarray
    latency_ms: float

    @property
    def digit(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())


def predict_all(models: Mapping[str, Any], image: np.ndarray) -> list[LivePrediction]:
    """Every model's probabilities for one (28, 28) float32 image, each timed."""
    return predict_each(models, np.asarray(image)[None])[0]


def predict_each(models: Mapping[str, Any], images: np.ndarray) -> list[list[LivePrediction]]:
    """For each of (n, 28, 28) images, every model's answer; each model reads the n images in one call."""
    batch = np.asarray(images, dtype=np.float32)
    answers: list[list[LivePrediction]] = [[] for _ in batch]
    for name, model in models.items():
        started = time.perf_counter()
        probabilities = np.asarray(model.predict_proba(batch))
        latency_ms = (time.perf_counter() - started) * 1000 / max(1, len(batch))
        for answer, row in zip(answers, probabilities):
            answer.append(LivePrediction(name, model.title, row, latency_ms))
    return answers


def sureness_judge(models: Mapping[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """How sure the models together are that each image is one digit: the soft vote's top probability.

    The segmentation lends this to choose where to cut two touching digits.
    """
    def judge(images: np.ndarray) -> np.ndarray:
        return soft_vote([model.predict_proba(np.asarray(images, dtype=np.float32)) for model in models.values()]
                         ).max(axis=1)
    return judge


def samples_per_digit(labels: np.ndarray, per_digit: int, seed: int) -> dict[int, np.ndarray]:
    """A fixed random choice of `per_digit` image indices for each digit."""
    rng = np.random.default_rng(seed)
    chosen = {}
    for digit in range(N_CLASSES):
        members = np.flatnonzero(labels == digit)
        chosen[digit] = np.sort(rng.choice(members, size=min(per_digit, len(members)), replace=False))
    return chosen


def class_balance(train_counts: np.ndarray, test_counts: np.ndarray) -> pd.DataFrame:
    """Images per digit in the training and test sets, as counts and shares."""
    rows = [
        {"digit": str(digit), "set": split, "images": int(counts[digit]), "share": float(counts[digit] / counts.sum())}
        for split, counts in (("train", np.asarray(train_counts)), ("test", np.asarray(test_counts)))
        for digit in range(N_CLASSES)
    ]
    return pd.DataFrame(rows)


def shared_dataset(fingerprints: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """The dataset most models were evaluated on, and those models (per-image comparisons need one dataset)."""
    if not fingerprints:
        return None, []
    counts = Counter(fingerprints.values())
    fingerprint = max(counts, key=lambda fp: (counts[fp], -list(fingerprints.values()).index(fp)))
    return fingerprint, [name for name, fp in fingerprints.items() if fp == fingerprint]
