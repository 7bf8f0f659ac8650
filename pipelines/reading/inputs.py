"""What the user gives the models: a drawing on the canvas or an uploaded photo, checked before any guess."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipelines.reading.canvas import FRONT_END, canvas_to_mnist, ink_intensity

DrawingProblem = Literal["empty", "unreadable"]


class UploadError(ValueError):
    """The upload cannot be used; the message tells the user why in plain words."""


def read_upload(payload: bytes, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Decode an uploaded image to a grayscale uint8 array, honouring its EXIF rotation.

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
            gray = image.convert("L")
    except UploadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadError("This file is not an image that can be read (PNG, JPEG, BMP, GIF, WebP or TIFF): "
                          f"{error}") from error
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt files fail in the decoder
        raise UploadError(f"The image is damaged or truncated and cannot be read ({error}).") from error
    return np.asarray(gray, dtype=np.uint8)


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
    if image is not None:
        return Reading(image)
    has_ink = bool((ink_intensity(pixels) >= FRONT_END.ink_threshold).any())
    return Reading(None, "unreadable" if has_ink else "empty")
