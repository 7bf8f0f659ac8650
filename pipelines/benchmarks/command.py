"""What every benchmark command shares: the common arguments, logging, and a data-source error as exit code 2."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipelines import config
from pipelines.data.sources import DataSourceError, add_data_argument
from pipelines.evaluation.report import machine_description
from pipelines.store.artifacts import ArtifactError
from pipelines.store.registry import LoadedModel, load_models

logger = logging.getLogger("pipelines.benchmarks")

Run = Callable[[argparse.Namespace, Sequence[str]], int]


def benchmark_parser(description: str | None, artifacts: bool = True, data: bool = True,
                     out: Path | None = config.BENCHMARKS_PATH) -> argparse.ArgumentParser:
    """A parser with `--artifacts` (the trained models, when the benchmark reads them), `--data` (when it reads a
    dataset) and `--out` (BENCHMARKS.md unless `out` says otherwise; None: print only unless given)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    if artifacts:
        parser.add_argument("--artifacts", type=Path, default=config.ARTIFACTS_DIR, help="the trained models")
    if data:
        add_data_argument(parser)
    parser.add_argument("--out", type=Path, default=out,
                        help="Markdown file to update" if out else "Markdown file to write the section into (default: "
                                                                   "print only)")
    return parser


def run_benchmark(run: Run, args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run a parsed benchmark with plain logs; data or artifacts that cannot be read are a message, not a traceback."""
    config.configure_logging()
    try:
        return run(args, argv)
    except (DataSourceError, ArtifactError) as error:
        logger.error("%s", error)
        return 2


def provenance(source: str, command: str, rows: Sequence[dict[str, Any]]) -> list[str]:
    """The Markdown list a measured section opens with: when, where, on what data, by which command, which runs."""
    return [
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine_description()}",
        f"- data: `{source}`",
        f"- command: `{command}`",
        *(["- runs: " + ", ".join(f"{row['model']} `{row['run']}`" for row in rows)] if rows else []),
    ]


def trained_models(artifacts: Path) -> dict[str, LoadedModel]:
    """The models a benchmark measures; none trained is said plainly (the caller exits with 1)."""
    models = load_models(artifacts)
    if not models:
        logger.error("no model could be loaded from %s: train first (python -m pipelines.train)", artifacts)
    return models
