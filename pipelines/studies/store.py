"""Study artifacts: every finished fit kept durably as it lands, the whole study sealed with checksums at the end.

Layout, one folder per study beside the models' runs:

    artifacts/studies/.running-<study_id>/   plan.json, fits.jsonl (one line per finished fit, fsynced)
    artifacts/studies/<study_id>/            plan.json, fits.jsonl, manifest.json (status, counts, sha256s)

A study runs in its hidden folder and is renamed into place when it finishes or is interrupted. If its process
is killed, the fits already on disk stay there, and the next study command seals it as "interrupted".
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.progress import read_events
from pipelines.store.artifacts import (
    MANIFEST,
    ArtifactError,
    atomic_write_json,
    new_run_id,
    now_iso,
    process_alive,
    read_json,
    sha256_file,
    verify_checksums,
)
from pipelines.studies.settings import STUDIES_FOLDER

PLAN = "plan.json"
FITS = "fits.jsonl"
RUNNING_PREFIX = ".running-"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Study:
    """One sealed study: its manifest (what was asked, status, counts) and its fits."""

    path: Path
    manifest: dict[str, Any]

    @property
    def study_id(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    def plan(self) -> dict[str, Any]:
        return read_json(self.path / PLAN)

    def fits(self) -> list[dict[str, Any]]:
        return read_fits(self.path / FITS)


def read_fits(path: Path) -> list[dict[str, Any]]:
    """Every complete line; a line cut short by a kill is left out."""
    return read_events(path)


class StudyWriter:
    """Appends finished fits of one running study, durably, and seals it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.appended = 0
        self._stream = open(folder / FITS, "a")

    def append(self, fit: dict[str, Any]) -> None:
        """One fit on disk before the next is counted: a kill loses at most the fits still running."""
        self._stream.write(json.dumps(fit, sort_keys=True) + "\n")
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self.appended += 1

    def close(self) -> None:
        self._stream.close()


class StudyStore:
    """Creates, seals, recovers and lists the studies under one artifacts folder."""

    def __init__(self, artifacts_dir: Path | str) -> None:
        self.root = Path(artifacts_dir) / STUDIES_FOLDER

    def start(self, plan: dict[str, Any]) -> tuple[str, StudyWriter]:
        """A new running study with its plan on disk; returns its id and its writer."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.recover_abandoned()
        study_id = new_run_id()
        folder = self.root / f"{RUNNING_PREFIX}{study_id}"
        folder.mkdir()
        atomic_write_json(folder / PLAN, {**plan, "study_id": study_id, "started_at": now_iso()})
        return study_id, StudyWriter(folder)

    def seal(self, writer: StudyWriter, status: str) -> Study:
        """Checksum the study's files and move it into place; its fits are then final."""
        writer.close()
        folder = writer.folder
        study_id = folder.name.removeprefix(RUNNING_PREFIX)
        plan = read_json(folder / PLAN)
        fits = read_fits(folder / FITS)
        files = {name: sha256_file(folder / name) for name in (PLAN, FITS) if (folder / name).is_file()}
        manifest = {
            "schema": SCHEMA_VERSION, "study_id": study_id, "kind": plan["kind"], "status": status,
            "planned_fits": len(plan["tasks"]), "finished_fits": sum(f["status"] == "ok" for f in fits),
            "failed_fits": sum(f["status"] != "ok" for f in fits), "started_at": plan["started_at"],
            "finished_at": now_iso(), "files": files,
        }
        atomic_write_json(folder / MANIFEST, manifest)
        target = self.root / study_id
        os.rename(folder, target)
        return Study(target, manifest)

    def discard(self, writer: StudyWriter) -> None:
        """Remove a running study that never got to fit anything (its engine could not start)."""
        writer.close()
        shutil.rmtree(writer.folder, ignore_errors=True)

    def recover_abandoned(self) -> list[Study]:
        """Seal as "interrupted" the running studies whose process is gone (killed), keeping their fits."""
        recovered = []
        for folder in sorted(self.root.glob(f"{RUNNING_PREFIX}*")):
            pid = folder.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not process_alive(int(pid)) and (folder / PLAN).is_file():
                recovered.append(self.seal(StudyWriter(folder), "interrupted"))
        return recovered

    def studies(self, kind: str | None = None) -> list[Study]:
        """Every sealed study, newest first, optionally of one kind (unverified)."""
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.iterdir(), reverse=True):
            if path.name.startswith(".") or not (path / MANIFEST).is_file():
                continue
            try:
                study = Study(path, read_json(path / MANIFEST))
            except ArtifactError:
                continue
            if kind is None or study.kind == kind:
                found.append(study)
        return found

    def verify(self, study: Study) -> None:
        """Raise ArtifactError naming the first missing or altered file of a study."""
        verify_checksums(study.path, study.manifest.get("files", {}))
