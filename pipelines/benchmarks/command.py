"""What every benchmark command shares: its options for the models, the data and the Markdown file, and its exit codes."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from pipelines import config
from pipelines.data.sources import DataSourceError, add_data_argument
from pipelines.store.artifacts import ArtifactError

Run = Callable[[argparse.Namespace, Sequence[str]], int]


def benchmark_parser(description: str) -> argparse.ArgumentParser:
    """--artifacts (the trained models, only read), --data and --out (the Markdown file whose section is replaced)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", type=Path, default=config.ARTIFACTS_DIR, help="the trained models (only read)")
    add_data_argument(parser)
    parser.add_argument("--out", type=Path, default=config.BENCHMARKS_PATH, help="Markdown file to update")
    return parser


def run_benchmark(parser: argparse.ArgumentParser, run: Run, argv: Sequence[str], logger: logging.Logger) -> int:
    """Parse, log, run; data or artifacts that cannot be read exit with 2 and a plain message."""
    args = parser.parse_args(argv)
    config.configure_logging()
    try:
        return run(args, argv)
    except (DataSourceError, ArtifactError) as error:
        logger.error("%s", error)
        return 2
