"""What the user gives the models: a drawing on the canvas or an uploaded photo, checked before any guess."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipelines.reading.canvas import canvas_to_mnist, read_ink

DrawingProblem = Literal["empty", "unreadable"]


class UploadError(ValueError):
    """The upload cannot be used; the message tells the user why in plain words."""


def read_upload(payload: bytes, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Decode an uploaded image to RGB (RGBA if it has transparency) uint8, honouring its EXIF rotation.

    Colour is kept: a blue or red pen stands out from the paper best in its own colours.

    Size is checked before decoding and the pixel count before the pixels are
    read, so a huge file or a decompression bomb is refused cheaply.
    """
    if not payload:
        raise UploadError("The file is empty.")
    if len(payload) > max_bytes:
        raise UploadError(f"The file is {len(payload) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB. "
                          "A photo of one digit needs far less: crop it or save it smaller.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(payload))
            width, height = image.size
            if width * height > max_pixels:
                raise UploadError(f"The image is {width}×{height} pixels; "
                                  f"the limit is {max_pixels / 1e6:.0f} megapixels.")
            image.load()
            image = ImageOps.exif_transpose(image)
            pixels = image.convert("RGBA" if _has_transparency(image) else "RGB")
    except UploadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadError("This file is not an image that can be read (PNG, JPEG, BMP, GIF, WebP or TIFF): "
                          f"{error}") from error
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt files fail in the decoder
        raise UploadError(f"The image is damaged or truncated and cannot be read ({error}).") from error
    return np.asarray(pixels, dtype=np.uint8)


def _has_transparency(image: Image.Image) -> bool:
    """A transparent background means the ink is in the alpha channel (as on the canvas)."""
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


@dataclass(frozen=True)
class Reading:
    """The 28×28 image the models see, or why there is none: nothing drawn, or nothing a model could read."""

    image: np.ndarray | None
    problem: DrawingProblem | None = None


def read_drawing(pixels: np.ndarray | None) -> Reading:
    """Turn canvas or photo pixels into model input, telling an empty input from an unreadable one."""
    if pixels is None or np.asarray(pixels).size == 0:
        return Reading(None, "empty")
    image = canvas_to_mnist(pixels)
    return Reading(image) if image is not None else Reading(None, problem_of(pixels))


def problem_of(pixels: np.ndarray) -> DrawingProblem:
    """Why nothing could be read: no ink at all, or too little or too small to be a digit."""
    return "unreadable" if read_ink(pixels).mask.any() else "empty"
