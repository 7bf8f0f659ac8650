"""The kept runs of a model side by side, two of them compared field by field, and which one is served."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipelines.store.artifacts import ArtifactError, ArtifactStore, Run

HISTORY_METRICS = ("accuracy", "macro_f1", "log_loss", "ece", "train_seconds")
DATA_FIELDS = ("source", "n_train", "n_test", "fingerprint", "fallback_reason")
RUN_FIELDS = ("profile", "seed", "git_commit", "started_at", "finished_at")


def run_metrics(run: Run) -> dict[str, Any]:
    """A run's stored metrics, or none when its metrics file cannot be read."""
    try:
        return run.metrics
    except ArtifactError:
        return {}


def run_history(store: ArtifactStore, model_name: str) -> pd.DataFrame:
    """One row per kept run, newest first: when, on what, how good, how fast, and whether it is served."""
    try:
        served, _ = store.serving_run(model_name)
        served_id = served.run_id
    except ArtifactError:
        served_id = None
    pinned = store.pinned(model_name)
    rows = []
    for run in store.runs(model_name):
        metrics = run_metrics(run)
        data = run.manifest.get("data", {})
        rows.append({
            "run_id": run.run_id, "finished_at": run.manifest.get("finished_at"),
            "profile": run.manifest.get("profile"), "data": data.get("source"), "n_train": data.get("n_train"),
            **{name: metrics.get(name) for name in HISTORY_METRICS},
            "latency_ms": metrics.get("latency_ms", {}).get("median"),
            "served": run.run_id == served_id, "pinned": run.run_id == pinned,
        })
    return pd.DataFrame(rows)


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {key: item for name, inner in value.items() for key, item in _flatten(f"{prefix}.{name}", inner).items()}
    return {prefix: value}


def run_fields(run: Run) -> dict[tuple[str, str], Any]:
    """Everything worth comparing about a run, keyed by (section, field)."""
    manifest, metrics = run.manifest, run_metrics(run)
    fields: dict[tuple[str, str], Any] = {}
    for name, value in _flatten("", manifest.get("hyperparameters") or {}).items():
        fields[("hyperparameters", name.lstrip("."))] = value
    for name in HISTORY_METRICS:
        fields[("metrics", name)] = metrics.get(name)
    fields[("metrics", "latency_ms (median)")] = metrics.get("latency_ms", {}).get("median")
    fields[("metrics", "artifact_bytes")] = metrics.get("artifact_bytes")
    for name in DATA_FIELDS:
        fields[("data", name)] = manifest.get("data", {}).get(name)
    for name in RUN_FIELDS:
        fields[("run", name)] = manifest.get(name)
    return fields


def compare_runs(first: Run, second: Run) -> pd.DataFrame:
    """Section, field, the two values (as text, so mixed types show alike) and whether they differ."""
    left, right = run_fields(first), run_fields(second)
    rows = []
    for section, field in dict.fromkeys([*left, *right]):
        a, b = left.get((section, field)), right.get((section, field))
        rows.append({"section": section, "field": field, first.run_id: _shown(a), second.run_id: _shown(b),
                     "differs": a != b})
    return pd.DataFrame(rows)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)
