"""Everything the dashboard shows, loaded once: the models, their test-set answers and the data behind them.

The dashboard keeps one `Arena` per set of runs on disk; `runs_signature`
changes whenever a training run lands or a run is pinned, which is how a new
model replaces the old one without restarting the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.evaluation.analysis import shared_dataset
from pipelines.evaluation.explain import Explainer
from pipelines.evaluation.neighbours import NeighbourIndex, load_index
from pipelines.store.artifacts import ArtifactError, ArtifactStore, Run
from pipelines.store.registry import MODEL_NAMES, LoadedModel, LoadReport, load_report


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
    neighbours: NeighbourIndex | None = None
    neighbours_error: str | None = None

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

    @cached_property
    def explainer(self) -> Explainer:
        """Built on first use and kept as long as these models, so the CNN's saliency is compiled once."""
        return Explainer(self.models, self.neighbours)

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


def load_arena(artifacts_dir: Path | str) -> Arena:
    """Load every model that loads, the datasets they were evaluated on, their test-set probabilities and the
    neighbour index of the training set most of them share."""
    artifacts_dir = Path(artifacts_dir)
    arena = Arena(artifacts_dir, load_report(artifacts_dir))
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
    fingerprint, _ = shared_dataset({name: arena.fingerprint(name) for name in arena.models})
    if fingerprint is not None:
        try:
            arena.neighbours = load_index(store, fingerprint)
        except ArtifactError as error:
            arena.neighbours_error = str(error)
    return arena
