"""`python -m pipelines.benchmarks.load`: many people drawing on the Draw page at once.

    python -m pipelines.benchmarks.load                                    # 20 tabs, a digit every 2 s, for 60 s
    python -m pipelines.benchmarks.load --sessions 4 --duration 20 --artifacts /work/main/artifacts
    python -m pipelines.benchmarks.load --out BENCHMARKS.md --drawings drawings.csv   # also write a section, a CSV
    python -m pipelines.benchmarks.load --url http://127.0.0.1:8501 --server-pid 1234  # a server already running

Starts its own `streamlit run app.py` on a free loopback port reading `--artifacts` (labelled drawings go to a
throwaway database, never into the artifacts folder), or targets `--url`. Prints the distribution of the time
from sending a drawing to the models' answers arriving, the drawings lost, the server's CPU and memory and this
generator's own CPU. Exit status 0 when the load was measured (the targets are reported, not asserted); 1 when
the server does not start, the page cannot be drawn on, or the tabs lose their connection.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import psutil

from pipelines import config
from pipelines.benchmarks.command import benchmark_parser, provenance, run_benchmark
from pipelines.benchmarks.load import report
from pipelines.benchmarks.load.draw_page import PageError
from pipelines.benchmarks.load.monitor import Monitor
from pipelines.benchmarks.load.settings import LOAD, LoadSettings
from pipelines.benchmarks.load.simulation import simulate
from pipelines.data.sources import load_data
from pipelines.evaluation.report import update_markdown_section
from pipelines.serving.server import AppServer, ServerError, app_server, is_healthy
from pipelines.store.artifacts import ArtifactError, ArtifactStore
from pipelines.store.registry import MODEL_NAMES

logger = logging.getLogger("pipelines.benchmarks.load")

FEEDBACK_DATABASE = "load-test-feedback.db"
SERVER_LOG = "streamlit.log"


def parser() -> argparse.ArgumentParser:
    result = benchmark_parser(__doc__, data=False, out=None)
    result.add_argument("--data", default=LOAD.data, metavar="SOURCE",
                        help="where the drawn test digits come from: sample (default), idx:DIR or openml")
    result.add_argument("--sessions", type=int, default=LOAD.sessions, help="simulated browser tabs")
    result.add_argument("--interval", type=float, default=LOAD.interval_seconds, help="seconds between drawings")
    result.add_argument("--duration", type=float, default=LOAD.duration_seconds, help="seconds of drawing")
    result.add_argument("--timeout", type=float, default=LOAD.answer_timeout_seconds,
                        help="seconds after which an unanswered drawing is lost")
    result.add_argument("--pool", type=int, default=LOAD.pool_size, help="distinct drawings to send")
    result.add_argument("--seed", type=int, default=LOAD.seed)
    result.add_argument("--url", default=None, help="an app already running (http://host:port) instead of starting one")
    result.add_argument("--server-pid", type=int, default=None, help="with --url: its process, for CPU and memory")
    result.add_argument("--drawings", type=Path, default=None, help="CSV file for every drawing's record")
    return result


def load_settings(args: argparse.Namespace) -> LoadSettings:
    return LoadSettings(sessions=args.sessions, interval_seconds=args.interval, duration_seconds=args.duration,
                        answer_timeout_seconds=args.timeout, pool_size=args.pool, data=args.data, seed=args.seed)


def served_runs(artifacts: Path) -> list[dict[str, str]]:
    """The run each model would be served from; none at all means nothing to load-test."""
    store = ArtifactStore(artifacts)
    rows = []
    for name in MODEL_NAMES:
        try:
            run, _ = store.serving_run(name)
            rows.append({"model": name, "run": run.run_id})
        except ArtifactError:
            continue
    return rows


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class TargetError(RuntimeError):
    """There is no app to load: it did not start, or nothing answers at --url."""


def target(args: argparse.Namespace, stack: ExitStack) -> tuple[str, int | None, AppServer | None]:
    """The app to load, its process id when known, and the server when this command started it (it is stopped
    when `stack` closes)."""
    if args.url is not None:
        url = args.url.rstrip("/")
        if not is_healthy(url):
            raise TargetError(f"nothing answers at {url}/_stcore/health: is the app running?")
        if args.server_pid is None:
            logger.warning("no --server-pid: the server's CPU and memory are not measured")
        return url, args.server_pid, None
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-test-")))
    say(f"starting streamlit run app.py on the models in {args.artifacts}")
    feedback = {config.FEEDBACK_URL_ENV: f"sqlite:///{folder / FEEDBACK_DATABASE}"}
    try:
        server = stack.enter_context(app_server(args.artifacts, folder / SERVER_LOG, feedback))
    except ServerError as error:
        raise TargetError(f"the app server did not start: {error}") from None
    return server.url, server.pid, server


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    try:
        settings = load_settings(args)
    except ValueError as error:
        logger.error("%s", error)
        return 2
    if args.url is None and args.server_pid is not None:
        logger.error("--server-pid goes with --url (a server this command did not start)")
        return 2
    runs = served_runs(args.artifacts) if args.url is None else []
    if args.url is None and not runs:
        logger.error("no trained model in %s: train first (python -m pipelines.train)", args.artifacts)
        return 1
    data = load_data(settings.data)
    with ExitStack() as stack:
        server: AppServer | None = None
        try:
            url, pid, server = target(args, stack)
            monitor = Monitor(pid)
            result = asyncio.run(simulate(url, data.test_images, data.test_labels, settings, monitor, say))
        except psutil.NoSuchProcess:
            logger.error("no process %s: --server-pid must be the app server's process id", args.server_pid)
            return 2
        except (TargetError, PageError, ConnectionError) as error:
            logger.error("%s", error)
            if server is not None:
                logger.error("the server's log ends: %s", server.log_tail())
            return 1
        if server is not None and server.process.poll() is not None and result.failure:
            result.failure += f" (the server exited with code {server.process.returncode})"
    row = report.summary(result)
    print(report.text_report(result, row))
    if args.drawings is not None:
        report.write_drawings(args.drawings, result)
        logger.info("wrote every drawing's record to %s", args.drawings)
    if args.out is not None and result.failure is None:
        command = "python -m pipelines.benchmarks.load " + shlex.join(argv)
        facts = provenance(data.source, command.strip(), runs)
        if not runs:
            facts[-1] = f"- runs: those the app at {url} serves (not started by the command)"
        update_markdown_section(args.out, report.SECTION, report.markdown_section(result, row, facts))
        logger.info("wrote the %s section of %s", report.SECTION, args.out)
    if result.failure:
        logger.error("the load test stopped early: %s", result.failure)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return run_benchmark(run, parser().parse_args(argv), argv)
