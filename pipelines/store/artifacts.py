"""The artifact store: versioned, checksummed, atomically written training runs.

Layout, one folder per model and one per run inside it:

    artifacts/<model>/runs/<run_id>/   model file(s), metrics.json, test_proba.npy, robustness.json,
                                       generalisation.json, manifest.json
    artifacts/<model>/pinned           the run id the dashboard serves instead of the newest (optional)
    artifacts/datasets/<fingerprint>.npz   the test images the metrics were computed on
    artifacts/datasets/<fingerprint>.neighbours.joblib   training images searchable by similarity (pipelines.evaluation.neighbours)

A run is built in a hidden staging folder and renamed into `runs/` only when
every file and the manifest are on disk, so a crash or a kill leaves the
previous runs untouched. The manifest, written last, holds the sha256 of every
other file; a run without one is not a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from pipelines import config

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
METRICS = "metrics.json"
TEST_PROBA = "test_proba.npy"
ROBUSTNESS = "robustness.json"
GENERALISATION = "generalisation.json"
RUNS = "runs"
STAGING_PREFIX = ".staging-"
DATASETS = "datasets"
NEIGHBOURS_SUFFIX = ".neighbours.joblib"
PINNED = "pinned"
HISTORY_LIMIT = 5
"""Runs kept per model; older ones are pruned after a new run lands, except a pinned one."""


class ArtifactError(RuntimeError):
    """A run that cannot be trusted or read; the message names the file."""


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write a file so that readers see the old content or the new, never a half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def atomic_write_json(path: Path, content: Any) -> None:
    atomic_write_bytes(path, json.dumps(content, indent=2, sort_keys=True).encode())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksums(folder: Path, checksums: dict[str, str]) -> None:
    """Raise ArtifactError naming the first file of `folder` that is missing or differs from its sha256."""
    for relative, expected in checksums.items():
        path = folder / relative
        if not path.is_file():
            raise ArtifactError(f"{path}: missing")
        if sha256_file(path) != expected:
            raise ArtifactError(f"{path}: checksum mismatch (the file changed after it was written or is corrupt)")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    """Sortable by time, unique across processes."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{os.getpid()}"


@dataclass(frozen=True)
class Run:
    """One finished training run of one model."""

    model_name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def metrics(self) -> dict[str, Any]:
        return read_json(self.path / METRICS)

    def test_proba(self) -> np.ndarray:
        return np.load(self.path / TEST_PROBA)

    def robustness(self) -> dict[str, Any]:
        """Accuracy curves under perturbations (see pipelines.evaluation.robustness)."""
        return read_json(self.path / ROBUSTNESS)

    def generalisation(self) -> dict[str, Any]:
        """Accuracy on MNIST test, drawn digits and out-of-style digits (see pipelines.evaluation.generalisation)."""
        return read_json(self.path / GENERALISATION)


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{path}: not valid JSON ({error})") from error


class ArtifactStore:
    """Reads and writes runs under one artifacts folder."""

    def __init__(self, root: Path | str = config.ARTIFACTS_DIR) -> None:
        self.root = Path(root)

    def runs_dir(self, model_name: str) -> Path:
        return self.root / model_name / RUNS

    @contextlib.contextmanager
    def new_run(self, model_name: str, manifest: dict[str, Any]) -> Iterator[Path]:
        """Yield a staging folder to fill; on success it becomes the newest run, on error it vanishes."""
        runs_dir = self.runs_dir(model_name)
        runs_dir.mkdir(parents=True, exist_ok=True)
        self._remove_abandoned_staging(runs_dir)
        run_id = new_run_id()
        staging = runs_dir / f"{STAGING_PREFIX}{run_id}"
        staging.mkdir()
        try:
            yield staging
            files = sorted(p for p in staging.rglob("*") if p.is_file())
            checksums = {str(p.relative_to(staging)): sha256_file(p) for p in files}
            sizes = {str(p.relative_to(staging)): p.stat().st_size for p in files}
            atomic_write_json(staging / MANIFEST, {**manifest, "run_id": run_id, "model": model_name,
                                                   "finished_at": now_iso(), "files": checksums,
                                                   "file_bytes": sizes})
            os.rename(staging, runs_dir / run_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._prune(model_name)

    def runs(self, model_name: str) -> list[Run]:
        """Every finished run of a model, newest first (unverified)."""
        runs_dir = self.runs_dir(model_name)
        if not runs_dir.is_dir():
            return []
        found = []
        for path in sorted(runs_dir.iterdir(), reverse=True):
            if path.name.startswith(".") or not (path / MANIFEST).is_file():
                continue
            try:
                found.append(Run(model_name, path, read_json(path / MANIFEST)))
            except ArtifactError as error:
                logger.warning("skipping run: %s", error)
        return found

    def verify(self, run: Run) -> None:
        """Raise ArtifactError naming the first missing or altered file of a run."""
        verify_checksums(run.path, run.manifest.get("files", {}))

    def latest_good(self, model_name: str) -> tuple[Run, list[str]]:
        """The newest run whose files verify, and a warning for each newer run that did not."""
        problems = []
        for run in self.runs(model_name):
            try:
                self.verify(run)
                return run, problems
            except ArtifactError as error:
                problems.append(str(error))
        if problems:
            raise ArtifactError("; ".join(problems))
        raise ArtifactError(f"{self.runs_dir(model_name)}: no trained {model_name} model yet")

    def pinned_path(self, model_name: str) -> Path:
        return self.root / model_name / PINNED

    def pinned(self, model_name: str) -> str | None:
        """The run id pinned for a model, or None when the newest good run is served."""
        try:
            return self.pinned_path(model_name).read_text().strip() or None
        except FileNotFoundError:
            return None

    def pin(self, model_name: str, run_id: str) -> Run:
        """Serve this run instead of the newest; it must exist and verify. Pruning keeps it."""
        run = next((run for run in self.runs(model_name) if run.run_id == run_id), None)
        if run is None:
            raise ArtifactError(f"{self.runs_dir(model_name) / run_id}: no such {model_name} run to pin")
        self.verify(run)
        atomic_write_bytes(self.pinned_path(model_name), f"{run_id}\n".encode())
        return run

    def unpin(self, model_name: str) -> None:
        """Serve the newest good run again."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pinned_path(model_name))

    def serving_run(self, model_name: str) -> tuple[Run, list[str]]:
        """The run to serve: the pinned one if it verifies, else the newest good run, with the reasons why not."""
        pinned = self.pinned(model_name)
        if pinned is None:
            return self.latest_good(model_name)
        run = next((run for run in self.runs(model_name) if run.run_id == pinned), None)
        try:
            if run is None:
                raise ArtifactError(f"{self.runs_dir(model_name) / pinned}: missing")
            self.verify(run)
            return run, []
        except ArtifactError as error:
            fallback, problems = self.latest_good(model_name)
            return fallback, [f"the pinned run {pinned} cannot be served ({error}), so the newest good run is served instead",
                              *problems]

    def dataset_path(self, fingerprint: str) -> Path:
        return self.root / DATASETS / f"{fingerprint}.npz"

    def save_dataset(self, fingerprint: str, arrays: dict[str, np.ndarray]) -> Path:
        """Keep the test images (and a summary of the training set) once per dataset.

        The dashboard shows them without reaching the data source again.
        """
        path = self.dataset_path(fingerprint)
        if not path.is_file():
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **arrays)
            atomic_write_bytes(path, buffer.getvalue())
        return path

    def load_dataset(self, fingerprint: str) -> dict[str, np.ndarray]:
        path = self.dataset_path(fingerprint)
        try:
            with np.load(path) as archive:
                return {key: archive[key] for key in archive.files}
        except (OSError, ValueError) as error:
            raise ArtifactError(f"{path}: the dataset of these models cannot be read ({error})") from error

    def neighbours_path(self, fingerprint: str) -> Path:
        return self.root / DATASETS / f"{fingerprint}{NEIGHBOURS_SUFFIX}"

    def save_neighbours(self, fingerprint: str, index: dict[str, Any]) -> Path:
        """Keep a dataset's neighbour index beside it, written whole or not at all."""
        buffer = io.BytesIO()
        joblib.dump(index, buffer, compress=3)
        path = self.neighbours_path(fingerprint)
        atomic_write_bytes(path, buffer.getvalue())
        return path

    def load_neighbours(self, fingerprint: str) -> dict[str, Any]:
        path = self.neighbours_path(fingerprint)
        if not path.is_file():
            raise ArtifactError(f"{path}: missing (these models were trained before training stored a neighbour "
                                "index; retrain, or run python -m pipelines.evaluation.neighbours with their profile and data)")
        try:
            payload = joblib.load(path)
        except Exception as error:  # a corrupt pickle fails with any exception type
            raise ArtifactError(f"{path}: the neighbour index cannot be read "
                                f"({type(error).__name__}: {error})") from error
        if not isinstance(payload, dict):
            raise ArtifactError(f"{path}: not a neighbour index (it holds a {type(payload).__name__})")
        return payload

    def _prune(self, model_name: str) -> None:
        pinned = self.pinned(model_name)
        for run in self.runs(model_name)[HISTORY_LIMIT:]:
            if run.run_id != pinned:
                shutil.rmtree(run.path, ignore_errors=True)

    @staticmethod
    def _remove_abandoned_staging(runs_dir: Path) -> None:
        """Staging folders left by killed runs, whose process is gone."""
        for staging in runs_dir.glob(f"{STAGING_PREFIX}*"):
            pid = staging.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not process_alive(int(pid)):
                shutil.rmtree(staging, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """True while a process with this id exists (owned by us or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
