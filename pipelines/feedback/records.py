"""What one labelled drawing is, checked strictly before it reaches the database.

Every refusal is a `ValueError` whose message says what was wrong and what is
expected, so a caller (or the person at the Draw page) can fix it.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from pipelines.config import FEEDBACK, IMAGE_SIDE, N_CLASSES, FeedbackSettings
from pipelines.feedback.schema import MODEL_NAME_CHARS, RUN_ID_CHARS

Source = Literal["canvas", "upload"]
Mode = Literal["digit", "number"]
SOURCES: tuple[str, ...] = ("canvas", "upload")
MODES: tuple[str, ...] = ("digit", "number")
MODEL_NAME = re.compile(rf"[a-z0-9][a-z0-9_.-]{{0,{MODEL_NAME_CHARS - 1}}}")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PROBABILITY_TOLERANCE = 1e-3
CROP_MARGIN_PX = 4
DIGEST_CHARS = 16


def image_digest(image: np.ndarray) -> str:
    """A short fingerprint of the 28×28 image the models saw. The Draw page keys each answer's labelling widget
    with it (a new drawing gets a fresh widget); the load benchmark reads it back to tell which drawing a run
    answered."""
    return hashlib.sha256(np.ascontiguousarray(image, dtype=np.float32).tobytes()).hexdigest()[:DIGEST_CHARS]


@dataclass(frozen=True)
class Answer:
    """One model's answer to a drawing: its digit, and when known how sure it was, its probabilities, its run."""

    digit: int
    confidence: float | None = None
    probabilities: np.ndarray | None = None
    run_id: str | None = None


def check_pixels(pixels: object) -> np.ndarray:
    """The 28×28 image the models saw, as float32 in [0, 1]."""
    array = np.asarray(pixels)
    if array.shape != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"pixels must be the 28×28 image the models saw; got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"pixels must be floats in [0, 1] (got {array.dtype}; for 0-255 images divide by 255)")
    if not np.isfinite(array).all():
        raise ValueError("pixels contain NaN or infinite values")
    if array.min() < 0.0 or array.max() > 1.0:
        raise ValueError(f"pixels must lie in [0, 1]; these range from {array.min():.3g} to {array.max():.3g}")
    return array.astype(np.float32)


def check_digit(value: object, what: str) -> int:
    """A digit 0-9 given as an integer (not a bool, a float or a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} must be an integer digit 0-9; got {value!r} ({type(value).__name__})")
    if not 0 <= int(value) < N_CLASSES:
        raise ValueError(f"{what} must be a digit 0-9; got {value}")
    return int(value)


def check_model_name(name: object) -> str:
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
        raise ValueError(f"model names are short lowercase identifiers such as 'svm' or 'cnn'; got {name!r}")
    return name


def check_probabilities(values: Sequence[float] | np.ndarray, model: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (N_CLASSES,) or not np.isfinite(array).all() or (array < 0).any() \
            or abs(array.sum() - 1.0) > PROBABILITY_TOLERANCE:
        raise ValueError(f"the probabilities of {model} must be ten non-negative numbers summing to 1")
    return array.astype(np.float32)


def check_answers(predictions: Mapping[str, object], confidences: Mapping[str, float] | None,
                  probabilities: Mapping[str, Sequence[float]] | None,
                  run_ids: Mapping[str, str] | None) -> dict[str, Answer]:
    """Each model's answer; confidences, probabilities and run ids may name only models that answered."""
    if not isinstance(predictions, Mapping):
        raise ValueError(f"predictions must map each model's name to its digit, e.g. {{'cnn': 7}}; "
                         f"got {type(predictions).__name__}")
    extras = {"confidences": confidences or {}, "probabilities": probabilities or {}, "run_ids": run_ids or {}}
    for what, mapping in extras.items():
        unknown = set(mapping) - set(predictions)
        if unknown:
            raise ValueError(f"{what} name models that gave no prediction: {', '.join(sorted(map(str, unknown)))}")
    result = {}
    for name, digit in predictions.items():
        model = check_model_name(name)
        confidence = extras["confidences"].get(model)
        if confidence is not None and not (isinstance(confidence, (int, float, np.floating))
                                           and 0.0 <= float(confidence) <= 1.0):
            raise ValueError(f"the confidence of {model} must be a number in [0, 1]; got {confidence!r}")
        proba = extras["probabilities"].get(model)
        run_id = extras["run_ids"].get(model)
        if run_id is not None and (not isinstance(run_id, str) or not 0 < len(run_id) <= RUN_ID_CHARS):
            raise ValueError(f"the run id of {model} must be a string of at most {RUN_ID_CHARS} characters")
        result[model] = Answer(check_digit(digit, f"the prediction of {model}"),
                               None if confidence is None else float(confidence),
                               None if proba is None else check_probabilities(proba, model), run_id)
    return result


def check_choice(value: str | None, choices: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_png(payload: bytes | None, settings: FeedbackSettings = FEEDBACK) -> bytes | None:
    if payload is None:
        return None
    if not isinstance(payload, bytes) or not payload.startswith(PNG_SIGNATURE):
        raise ValueError("input_png must be the bytes of a PNG image (see `input_thumbnail`)")
    if len(payload) > settings.max_png_bytes:
        raise ValueError(f"input_png is {len(payload):,} bytes; the limit is {settings.max_png_bytes:,}: "
                         "store a cropped, smaller picture (see `input_thumbnail`)")
    return payload


def check_session(session_id: str | None, settings: FeedbackSettings = FEEDBACK) -> str | None:
    if session_id is not None and (not isinstance(session_id, str)
                                   or not 0 < len(session_id) <= settings.max_session_chars):
        raise ValueError(f"session_id must be a short random string (at most {settings.max_session_chars} "
                         "characters), never something that names the person")
    return session_id


def input_thumbnail(image: np.ndarray, box: tuple[int, int, int, int] | None = None,
                    settings: FeedbackSettings = FEEDBACK) -> bytes | None:
    """A small grayscale PNG of the input as drawn: cropped to its ink, at most `thumbnail_px` on its longest side.

    `box` (top, left, bottom, right) keeps only the ink inside it: one digit of a
    number. None when there is no ink. Kept so a moderator can see what was
    drawn; the models never read it.
    """
    from pipelines.reading.canvas import FRONT_END, ink_intensity  # here: the leaderboard never imports the front end

    array = np.asarray(image)
    ink = ink_intensity(array)  # over the whole input, so paper and ink are told apart as for the models
    if box is not None:
        top, left, bottom, right = box
        inside = np.zeros(ink.shape, dtype=bool)
        inside[top:bottom, left:right] = True
        ink = np.where(inside, ink, 0.0)
    rows, cols = np.nonzero(ink >= FRONT_END.ink_threshold)
    if not len(rows):
        return None
    top, bottom = max(rows.min() - CROP_MARGIN_PX, 0), min(rows.max() + CROP_MARGIN_PX + 1, array.shape[0])
    left, right = max(cols.min() - CROP_MARGIN_PX, 0), min(cols.max() + CROP_MARGIN_PX + 1, array.shape[1])
    crop = Image.fromarray((ink[top:bottom, left:right] * 255).round().astype(np.uint8), mode="L")
    crop.thumbnail((settings.thumbnail_px, settings.thumbnail_px), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    crop.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
