"""What the Experiments page and the study command show, as data frames: learning curves with their spread
over seeds, sweep results per hyperparameter combination, and accuracy against its cost."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pipelines.evaluation.history import run_metrics
from pipelines.store.artifacts import ArtifactStore
from pipelines.studies.store import Study

PARAM_PREFIX = "param "


def fits_frame(study: Study) -> pd.DataFrame:
    """One row per successful fit; each swept hyperparameter a column `param NAME`."""
    rows = [{**{key: value for key, value in fit.items() if key not in ("params", "hyperparameters")},
             **{f"{PARAM_PREFIX}{name}": value for name, value in fit["params"].items()}}
            for fit in study.fits() if fit["status"] == "ok"]
    return pd.DataFrame(rows)


def failed_fits(study: Study) -> pd.DataFrame:
    return pd.DataFrame([{"fit": fit["key"], "error": fit.get("error")} for fit in study.fits()
                         if fit["status"] != "ok"])


def learning_curve(fits: pd.DataFrame) -> pd.DataFrame:
    """Per model and size: accuracy over seeds (mean, spread), and mean training time and latency."""
    if fits.empty:
        return pd.DataFrame()
    grouped = fits.groupby(["model", "size"])
    table = grouped["accuracy"].agg(["mean", "std", "min", "max", "count"]).add_prefix("accuracy_")
    table["train_seconds"] = grouped["train_seconds"].mean()
    table["latency_ms"] = grouped["latency_ms"].mean()
    return table.reset_index().rename(columns={"accuracy_count": "seeds"})


def swept_parameters(fits: pd.DataFrame) -> list[str]:
    """The hyperparameter columns of a sweep."""
    return [column for column in fits.columns if column.startswith(PARAM_PREFIX)]


def sweep_results(fits: pd.DataFrame) -> pd.DataFrame:
    """Per hyperparameter combination: cross-validated accuracy (mean and spread over folds), best first."""
    parameters = swept_parameters(fits)
    if fits.empty or not parameters:
        return pd.DataFrame()
    grouped = fits.groupby(parameters)
    table = grouped["accuracy"].agg(["mean", "std", "count"]).add_prefix("accuracy_")
    table["train_seconds"] = grouped["train_seconds"].mean()
    table["latency_ms"] = grouped["latency_ms"].mean()
    return table.reset_index().rename(columns={"accuracy_count": "folds"}).sort_values(
        "accuracy_mean", ascending=False, ignore_index=True)


def cost_points(store: ArtifactStore, model_names: Sequence[str], studies: Sequence[Study]) -> pd.DataFrame:
    """Test accuracy against training time and latency: every kept training run and every learning-curve fit.

    Sweep fits are left out: they are scored on folds of the training set, not on the test set.
    """
    rows = []
    for name in model_names:
        for run in store.runs(name):
            metrics = run_metrics(run)
            if "accuracy" in metrics:
                rows.append({"model": name, "origin": "training run", "label": run.run_id,
                             "accuracy": metrics["accuracy"], "train_seconds": metrics.get("train_seconds"),
                             "latency_ms": metrics.get("latency_ms", {}).get("median"),
                             "n_train": run.manifest.get("data", {}).get("n_train")})
    for study in studies:
        if study.kind != "learning-curve":
            continue
        for fit in study.fits():
            if fit["status"] == "ok" and fit["model"] in model_names:
                rows.append({"model": fit["model"], "origin": "learning-curve fit",
                             "label": f"{study.study_id} {fit['key']}", "accuracy": fit["accuracy"],
                             "train_seconds": fit["train_seconds"], "latency_ms": fit["latency_ms"],
                             "n_train": fit["n_train"]})
    return pd.DataFrame(rows)


def summary_table(study: Study) -> str:
    """The study's result as text for the terminal."""
    fits = fits_frame(study)
    if fits.empty:
        return "no fit finished"
    if study.kind == "learning-curve":
        table = learning_curve(fits).pivot(index="size", columns="model", values="accuracy_mean")
        return "test accuracy, mean over seeds:\n" + table.to_string(float_format="{:.4f}".format)
    results = sweep_results(fits)
    return ("cross-validated accuracy on the training subset, best first:\n"
            + results.to_string(index=False, float_format="{:.4f}".format))
