"""Write the stored robustness curves of the newest runs into BENCHMARKS.md.

    python -m pipelines.benchmarks.robustness [--artifacts artifacts]

Every training run measures its curves (`pipelines.evaluation.robustness`) and stores
them as `robustness.json` beside the model; this command only reads them, so
it takes a second and the figures are exactly those the Robustness page draws.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipelines import config
from pipelines.evaluation.report import Column, markdown_table, text_table, update_markdown_section
from pipelines.evaluation.robustness import ROBUSTNESS
from pipelines.store.artifacts import ArtifactError, ArtifactStore
from pipelines.store.registry import MODEL_NAMES

logger = logging.getLogger("pipelines.benchmarks.robustness")

SECTION = "robustness"


def stored_curves(artifacts_dir: Path, names: Sequence[str] = MODEL_NAMES) -> tuple[dict[str, dict[str, Any]],
                                                                                     dict[str, str]]:
    """The curves and run id of each model's newest verified run, and why a model has none."""
    store = ArtifactStore(artifacts_dir)
    curves, missing = {}, {}
    for name in names:
        try:
            run, _ = store.latest_good(name)
            curves[name] = {"run": run.run_id, **run.robustness()}
        except ArtifactError as error:
            missing[name] = str(error)
    return curves, missing


def accuracy_at(model_curves: dict[str, Any], kind: str, position: int) -> float:
    """One point of one curve; nan for a perturbation an older run did not measure."""
    curve = model_curves["perturbations"].get(kind)
    return float(curve["accuracy"][position]) if curve else float("nan")


def curve_rows(curves: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (perturbation, strength), one accuracy per model, in the order the lab measured them."""
    first = next(iter(curves.values()))["perturbations"]
    kinds = sorted(first, key=lambda kind: ROBUSTNESS.kinds.index(kind) if kind in ROBUSTNESS.kinds else len(first))
    rows = []
    for kind in kinds:
        curve = first[kind]
        for position, strength in enumerate(curve["strengths"]):
            row: dict[str, Any] = {"kind": kind, "unit": curve["unit"], "strength": strength}
            row.update({name: accuracy_at(model, kind, position) for name, model in curves.items()})
            rows.append(row)
    return rows


def curve_columns(names: Sequence[str]) -> list[Column]:
    def accuracy(name: str) -> Any:
        return lambda row: f"{row[name]:.1%}"
    return [("perturbation", lambda row: row["kind"]), ("strength", lambda row: f"{row['strength']:g}"),
            ("unit", lambda row: row["unit"])] + [(name, accuracy(name)) for name in names]


def markdown_report(curves: dict[str, dict[str, Any]], rows: list[dict[str, Any]], command: str) -> str:
    first = next(iter(curves.values()))
    return "\n".join([
        "## Robustness: test accuracy under perturbations",
        "",
        f"Each model's stored curves (`robustness.json`, measured by training on {first['n_images']:,} test images "
        f"chosen with seed {first['seed']}; every model sees the same perturbed images). Drawn on the dashboard's "
        "Robustness page.",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- command: `{command}`",
        "- runs: " + ", ".join(f"{name} `{model['run']}`" for name, model in curves.items()),
        "",
        markdown_table(rows, curve_columns(list(curves))),
    ])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", type=Path, default=config.ARTIFACTS_DIR, help="the trained models")
    parser.add_argument("--out", type=Path, default=config.BENCHMARKS_PATH, help="Markdown file to update")
    args = parser.parse_args(argv)
    config.configure_logging()
    curves, missing = stored_curves(args.artifacts)
    for name, problem in missing.items():
        logger.warning("%s has no curves: %s", name, problem)
    if not curves:
        logger.error("no run in %s has robustness curves: train first (python -m pipelines.train)", args.artifacts)
        return 1
    rows = curve_rows(curves)
    print(text_table(rows, curve_columns(list(curves))))
    command = "python -m pipelines.benchmarks.robustness " + shlex.join(argv)
    update_markdown_section(args.out, SECTION, markdown_report(curves, rows, command.strip()))
    logger.info("wrote the %s section of %s", SECTION, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
