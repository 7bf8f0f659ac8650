"""Everything the dashboard shows, loaded once: the models, their test-set answers and the data behind them.

The dashboard keeps one `Arena` per set of runs on disk; `runs_signature`
changes whenever a training run lands or a run is pinned, which is how a new
model replaces the old one without restarting the app.

An arena is ready to show stored results as soon as it exists: it reads the
runs' metrics and test answers, never a model file. The classifiers load in a
background thread (`start_loading`), and only the views that ask a model
something new (drawings, live perturbations) wait for them (`ready_models`).
Once loaded, each model answers every session from one thread of its own
(`pipelines.serving.batching`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.evaluation.analysis import shared_dataset
from pipelines.serving.batching import Batcher
from pipelines.serving.memory import release_freed_memory
from pipelines.store.artifacts import ArtifactError, ArtifactStore, Run
from pipelines.store.registry import MODEL_NAMES, LoadedModel, LoadReport, load_report

if TYPE_CHECKING:  # imported where used: the stored-results pages must not wait for scikit-learn's import
    from pipelines.evaluation.explain import Explainer
    from pipelines.evaluation.neighbours import NeighbourIndex
    from pipelines.reading.pieces import PieceCounter

_LOADER_LOCK = threading.Lock()


def runs_signature(artifacts_dir: Path | str, names: tuple[str, ...] = MODEL_NAMES) -> tuple[str, ...]:
    """The newest run id and the pinned run id of each model on disk (cheap: a listing and a tiny file), `-` for
    none."""
    store = ArtifactStore(artifacts_dir)
    signature = []
    for name in names:
        runs_dir = store.runs_dir(name)
        ids = sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith(".")) if runs_dir.is_dir() else []
        signature.append(f"{name}:{ids[-1] if ids else '-'}:{store.pinned(name) or '-'}")
    return tuple(signature)


@dataclass
class Arena:
    """The loaded models with their stored test results, and problems found on the way."""

    artifacts_dir: Path
    report: LoadReport
    datasets: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    dataset_errors: dict[str, str] = field(default_factory=dict)
    test_probabilities: dict[str, np.ndarray] = field(default_factory=dict)
    neighbours_error: str | None = None
    _loader: threading.Thread | None = field(default=None, repr=False)
    _needed: threading.Event = field(default_factory=threading.Event, repr=False)  # a page waits: load at once

    @property
    def models(self) -> dict[str, LoadedModel]:
        return self.report.models

    @property
    def errors(self) -> dict[str, str]:
        return self.report.errors

    def fingerprint(self, name: str) -> str:
        return self.models[name].manifest["data"]["fingerprint"]

    def dataset(self, name: str) -> dict[str, np.ndarray] | None:
        """The test images and training-set summary a model was evaluated on, if they could be read."""
        return self.datasets.get(self.fingerprint(name))

    def fallback_reasons(self) -> dict[str, str]:
        """Models trained on the bundled sample because OpenML could not be reached, and why."""
        reasons = {name: m.manifest["data"].get("fallback_reason") for name, m in self.models.items()}
        return {name: reason for name, reason in reasons.items() if reason}

    def comparable(self) -> tuple[dict[str, np.ndarray] | None, list[str]]:
        """The dataset most models share and the models evaluated on it, for per-image comparisons."""
        usable = {name: self.fingerprint(name) for name in self.models
                  if name in self.test_probabilities and self.dataset(name) is not None}
        fingerprint, names = shared_dataset(usable)
        return (self.datasets[fingerprint] if fingerprint else None), names

    def start_loading(self, after_seconds: float = 0.0) -> None:
        """Load every classifier in a background thread, once, starting `after_seconds` from now or as soon as a
        page needs them (`ready_models`), whichever comes first."""
        with _LOADER_LOCK:
            if self._loader is None:
                self._loader = threading.Thread(target=self._load_all, args=(after_seconds,), name="arena-loader",
                                                daemon=True)
                self._loader.start()

    def _load_all(self, after_seconds: float) -> None:
        self._needed.wait(after_seconds)
        for model in self.models.values():
            with contextlib.suppress(ArtifactError):  # kept on the model and shown by the pages
                model.load()
                model.route_predictions(Batcher(model.classifier.predict_proba, model.name).predict)
        _ = self.neighbours
        release_freed_memory()

    @property
    def loading(self) -> bool:
        """True until the background loader has tried every classifier (also before it has started)."""
        return self._loader is None or self._loader.is_alive()

    def ready_models(self) -> dict[str, LoadedModel]:
        """The models whose classifiers loaded, waiting for the loader first; those that failed are left out
        (their reason is `load_errors`)."""
        self.start_loading()
        self._needed.set()
        self._loader.join()
        return {name: model for name, model in self.models.items() if model.loaded}

    def load_errors(self) -> dict[str, str]:
        """Why a model whose run was read could not be loaded, after the loader has tried it."""
        return {name: model.load_error for name, model in self.models.items() if model.load_error}

    @cached_property
    def neighbours(self) -> NeighbourIndex | None:
        """The nearest-training-digit index of the training set most models share, read on first use."""
        from pipelines.evaluation.neighbours import load_index

        fingerprint, _ = shared_dataset({name: self.fingerprint(name) for name in self.models})
        if fingerprint is None:
            return None
        try:
            return load_index(ArtifactStore(self.artifacts_dir), fingerprint)
        except ArtifactError as error:
            self.neighbours_error = str(error)
            return None

    @cached_property
    def piece_counter(self) -> PieceCounter | None:
        """The classifier that tells the segmentation which pieces hold touching digits; None when not trained."""
        from pipelines.store.pieces import load_piece_counter

        return load_piece_counter(self.artifacts_dir)

    @cached_property
    def explainer(self) -> Explainer:
        """Built on first use and kept as long as these models, so the CNN's saliency is compiled once."""
        from pipelines.evaluation.explain import Explainer

        return Explainer(self.ready_models(), self.neighbours)

    def metrics(self) -> dict[str, dict[str, Any]]:
        return {name: m.metrics for name, m in self.models.items()}

    def manifests(self) -> dict[str, dict[str, Any]]:
        return {name: m.manifest for name, m in self.models.items()}

    def robustness(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Each model's stored robustness curves, and why a model has none (runs older than the lab)."""
        return self._stored(Run.robustness)

    def generalisation(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Each model's stored generalisation scores, and why a model has none (runs older than them)."""
        return self._stored(Run.generalisation)

    def _stored(self, read: Callable[[Run], dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """One stored JSON result of every model's run, and the reason for each model that has none."""
        found, missing = {}, {}
        for name, model in self.models.items():
            try:
                found[name] = read(model.run)
            except ArtifactError as error:
                missing[name] = str(error)
        return found, missing


def load_arena(artifacts_dir: Path | str, start_loading: bool = True, serving: str | None = None) -> Arena:
    """The runs every model serves, the datasets they were evaluated on and their test-set probabilities: what the
    stored-results pages show. The classifiers and the neighbour index load in the background (`start_loading`),
    served as `serving` says (see `load_model`)."""
    artifacts_dir = Path(artifacts_dir)
    arena = Arena(artifacts_dir, load_report(artifacts_dir, serving=serving, lazy=True))
    store = ArtifactStore(artifacts_dir)
    for name, model in list(arena.models.items()):
        fingerprint = arena.fingerprint(name)
        if fingerprint not in arena.datasets and fingerprint not in arena.dataset_errors:
            try:
                arena.datasets[fingerprint] = store.load_dataset(fingerprint)
            except ArtifactError as error:
                arena.dataset_errors[fingerprint] = str(error)
        try:
            arena.test_probabilities[name] = model.test_proba()
        except (OSError, ValueError) as error:
            arena.dataset_errors[f"{name} test probabilities"] = f"{model.run.path}: {error}"
    if start_loading:
        arena.start_loading()
    return arena
