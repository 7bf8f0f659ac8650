"""The piece counter (`pipelines.reading.pieces`) in the artifact store: its runs sit beside the digit models'."""

from __future__ import annotations

import logging
from pathlib import Path

import joblib

from pipelines.reading.pieces import PieceCounter
from pipelines.store.artifacts import ArtifactError, ArtifactStore

logger = logging.getLogger(__name__)

STORE_NAME = "piece-counter"
MODEL_FILE = "counter.joblib"


def load_piece_counter(artifacts_dir: Path | str) -> PieceCounter | None:
    """The newest stored counter whose files verify, or None (logged) when none is trained or it cannot be read:
    the segmentation then does without it."""
    store = ArtifactStore(artifacts_dir)
    try:
        run, problems = store.latest_good(STORE_NAME)
        payload = joblib.load(run.path / MODEL_FILE)
    except ArtifactError as error:
        logger.info("no piece counter: %s", error)
        return None
    except Exception as error:  # a corrupt pickle fails with any exception type
        logger.warning("the piece counter in %s cannot be read (%s: %s)", artifacts_dir, type(error).__name__, error)
        return None
    for problem in problems:
        logger.warning("piece counter: %s", problem)
    if not isinstance(payload, PieceCounter):
        logger.warning("%s does not hold a piece counter", run.path / MODEL_FILE)
        return None
    payload.run_id = run.run_id
    return payload
