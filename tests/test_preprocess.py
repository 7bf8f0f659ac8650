"""canvas_to_mnist: every input kind, centring, scaling, and what counts as nothing drawn."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import drawn_digit
from scipy import ndimage

from pipelines.reading.canvas import FRONT_END, canvas_to_mnist


def _stroke_canvas(top: int, left: int, height: int, width: int, side: int = 280) -> np.ndarray:
    canvas = np.zeros((side, side, 4), dtype=np.uint8)
    canvas[..., 3] = 255
    canvas[top : top + height, left : left + width, :3] = 255
    return canvas


def _ink_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero((image > 0.1).any(axis=1))
    cols = np.flatnonzero((image > 0.1).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_output_is_28_by_28_float32_in_unit_range(sample) -> None:
    result = canvas_to_mnist(drawn_digit(sample.test_images[0]))
    assert result.shape == (28, 28) and result.dtype == np.float32
    assert result.min() >= 0.0 and result.max() == pytest.approx(1.0)


@pytest.mark.parametrize("top,left", [(10, 10), (100, 100), (150, 30)])
def test_centre_of_mass_lands_at_the_centre_wherever_it_is_drawn(top: int, left: int) -> None:
    result = canvas_to_mnist(_stroke_canvas(top, left, 120, 40))
    row, col = ndimage.center_of_mass(result)
    assert abs(row - FRONT_END.centre) <= 0.75 and abs(col - FRONT_END.centre) <= 0.75


def test_longer_side_is_scaled_to_20_pixels_keeping_the_aspect_ratio() -> None:
    tall = canvas_to_mnist(_stroke_canvas(20, 100, 200, 50))
    height, width = _ink_box(tall)
    assert height in (20, 21)  # anti-aliasing may leave a faint extra row
    assert 4 <= width <= 7
    small = canvas_to_mnist(_stroke_canvas(5, 5, 30, 30))
    assert _ink_box(small)[0] in (20, 21)


def test_a_shifted_drawing_gives_the_same_image(sample) -> None:
    digit = sample.test_images[3]
    here = canvas_to_mnist(drawn_digit(digit, top=20, left=30))
    there = canvas_to_mnist(drawn_digit(digit, top=100, left=110))
    np.testing.assert_allclose(here, there, atol=1e-5)


def test_empty_canvas_is_none() -> None:
    blank = np.zeros((280, 280, 4), dtype=np.uint8)
    blank[..., 3] = 255
    assert canvas_to_mnist(blank) is None


def test_a_speck_is_none() -> None:
    assert canvas_to_mnist(_stroke_canvas(140, 140, 3, 3)) is None


def test_transparent_background_with_ink_in_alpha(sample) -> None:
    opaque = drawn_digit(sample.test_images[5])
    transparent = np.zeros_like(opaque)
    transparent[..., :3] = 40  # the colour of the ink does not matter, only its alpha
    transparent[..., 3] = opaque[..., 0]
    np.testing.assert_allclose(canvas_to_mnist(transparent), canvas_to_mnist(opaque), atol=1e-5)


def test_grayscale_array(sample) -> None:
    rgba = drawn_digit(sample.test_images[7])
    np.testing.assert_allclose(canvas_to_mnist(rgba[..., 0]), canvas_to_mnist(rgba), atol=1e-5)


def test_photo_of_dark_ink_on_light_paper_is_inverted(sample) -> None:
    rgba = drawn_digit(sample.test_images[9])
    rng = np.random.default_rng(0)
    paper = 225 - rgba[..., 0].astype(np.int32) * 200 // 255 + rng.integers(-8, 8, rgba.shape[:2])
    photo = np.repeat(np.clip(paper, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    from_photo = canvas_to_mnist(photo)
    from_canvas = canvas_to_mnist(rgba)
    assert from_photo is not None
    assert np.abs(from_photo - from_canvas).mean() < 0.05
    assert from_photo[0, 0] == 0.0  # background is black, not paper white


def test_bad_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="expected an"):
        canvas_to_mnist(np.zeros((5, 5, 2), dtype=np.uint8))
