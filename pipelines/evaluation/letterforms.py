"""Handwritten letterforms MNIST rarely has, as pen strokes: flagged and footed 1s, closed-loop 6s and 9s,
crossed 7s, open and closed 4s, and a few more.

Each letterform is a small function that builds the centre lines of its strokes
in a unit box (x to the right, y down, the digit 1 high) from proportions drawn
at random, so no two are alike. The strokes are then wobbled a little, as a
hand does, and drawn on the canvas by `pipelines.evaluation.drawn` exactly as
the drawn-digit set is. Every letterform is either for evaluation or for
training (`Letterform.evaluation`): the evaluation shapes are never trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

Strokes = list[np.ndarray]
Draw = Callable[[np.random.Generator], Strokes]


@dataclass(frozen=True)
class LetterformConfig:
    """How much the proportions and the centre lines vary between two letterforms of one kind."""

    proportion_spread: float = 0.15  # every proportion is scaled by 1 ± up to this
    aspect: tuple[float, float] = (0.8, 1.25)  # width scaled by this, the height kept
    wobble: tuple[float, float] = (0.005, 0.02)  # standard deviation of the hand's wobble, of the digit's height
    wobble_smoothness: float = 0.15  # the wobble varies over this share of a stroke's points
    points_per_unit: int = 40  # centre-line points per unit of length


LETTERFORMS_CONFIG = LetterformConfig()


def _about(rng: np.random.Generator, value: float, spread: float = LETTERFORMS_CONFIG.proportion_spread) -> float:
    return float(value * (1.0 + rng.uniform(-spread, spread)))


def line(*points: tuple[float, float]) -> np.ndarray:
    """A polyline through the points, densely sampled so the wobble bends it smoothly."""
    pieces = []
    for start, end in zip(points[:-1], points[1:]):
        length = float(np.hypot(end[0] - start[0], end[1] - start[1]))
        steps = max(2, int(length * LETTERFORMS_CONFIG.points_per_unit))
        pieces.append(np.linspace(start, end, steps, endpoint=False))
    return np.vstack([*pieces, np.array([points[-1]], dtype=np.float64)])


def arc(centre: tuple[float, float], radii: tuple[float, float], start: float, end: float) -> np.ndarray:
    """Points on an ellipse from angle `start` to `end` (degrees; y is down, so increasing angles turn clockwise)."""
    span = abs(end - start) / 360.0 * 2 * np.pi * max(radii)
    angles = np.radians(np.linspace(start, end, max(8, int(span * LETTERFORMS_CONFIG.points_per_unit))))
    return np.stack([centre[0] + radii[0] * np.cos(angles), centre[1] + radii[1] * np.sin(angles)], axis=1)


def joined(*parts: np.ndarray) -> np.ndarray:
    return np.vstack(parts)


# --- the letterforms (evaluation) -------------------------------------------------------------------


def oval_zero(rng: np.random.Generator) -> Strokes:
    width = _about(rng, 0.3)
    return [arc((width, 0.5), (width, 0.5), -90, 275)]


def flagged_one(rng: np.random.Generator) -> Strokes:
    flag, drop = _about(rng, 0.25), _about(rng, 0.3)  # steeper than a 7's bar: read as a 1 anywhere
    return [line((0.5 - flag, drop), (0.5, 0.0), (0.5, 1.0))]


def flagged_footed_one(rng: np.random.Generator) -> Strokes:
    foot = _about(rng, 0.22)
    return [*flagged_one(rng), line((0.5 - foot, 1.0), (0.5 + foot, 1.0))]


def looped_two(rng: np.random.Generator) -> Strokes:
    radius, loop = _about(rng, 0.27), _about(rng, 0.1)
    top = arc((0.3, radius), (0.3, radius), 200, 380)
    loop_points = arc((0.1 + loop, 1.0 - loop), (loop, loop), 135, -225)
    return [joined(top, line(tuple(top[-1]), tuple(loop_points[0])), loop_points,
                   line(tuple(loop_points[-1]), (_about(rng, 0.65), 1.0)))]


def flat_topped_three(rng: np.random.Generator) -> Strokes:
    middle = _about(rng, 0.42)
    bowl = arc((0.3, (1.0 + middle) / 2), (0.32, (1.0 - middle) / 2), -90, 150)
    return [joined(line((0.0, 0.0), (0.6, 0.0), (0.25, middle)), bowl)]


def open_four(rng: np.random.Generator) -> Strokes:
    bar, stem = _about(rng, 0.62), _about(rng, 0.55)
    return [line((0.12, 0.0), (0.02, bar), (0.75, bar)), line((stem, 0.08), (stem, 1.0))]


def closed_four(rng: np.random.Generator) -> Strokes:
    bar, stem = _about(rng, 0.68), _about(rng, 0.55)
    return [line((stem, 0.0), (0.0, bar), (0.75, bar)), line((stem, 0.0), (stem, 1.0))]


def bowl_five(rng: np.random.Generator) -> Strokes:
    waist = _about(rng, 0.42)
    bowl = arc((0.3, (1.0 + waist) / 2), (0.3, (1.0 - waist) / 2), 215, 510)
    return [joined(line((0.08, 0.0), (0.08, waist + 0.04)), bowl), line((0.08, 0.0), (_about(rng, 0.6), 0.0))]


def closed_loop_six(rng: np.random.Generator) -> Strokes:
    loop = _about(rng, 0.27)
    stem = arc((0.55, 1.0 - loop), (0.5, 1.0 - loop), 265, 180)
    return [joined(stem, arc((0.05 + loop, 1.0 - loop), (loop, loop), 180, -180))]


def crossed_seven(rng: np.random.Generator) -> Strokes:
    foot = _about(rng, 0.2)
    cross = _about(rng, 0.5)
    x_at = 0.6 - (0.6 - foot) * cross
    half = _about(rng, 0.18)
    return [line((0.0, 0.0), (0.6, 0.0), (foot, 1.0)), line((x_at - half, cross), (x_at + half, cross))]


def stacked_eight(rng: np.random.Generator) -> Strokes:
    waist = _about(rng, 0.47)
    return [arc((0.3, waist / 2), (0.22, waist / 2), 90, 450),
            arc((0.3, (1.0 + waist) / 2), (0.28, (1.0 - waist) / 2), -90, 270)]


def closed_loop_nine(rng: np.random.Generator) -> Strokes:
    loop = _about(rng, 0.27)
    return [joined(arc((loop, loop), (loop, loop), 0, -360), line((2 * loop, loop), (_about(rng, 2 * loop), 1.0)))]


# --- the letterforms (training) ---------------------------------------------------------------------


def round_zero(rng: np.random.Generator) -> Strokes:
    return [arc((0.4, 0.5), (0.4, 0.5), -60, 310)]


def hooked_one(rng: np.random.Generator) -> Strokes:
    return [joined(arc((0.5, _about(rng, 0.25)), (_about(rng, 0.25), 0.25), 200, 270), line((0.5, 0.0), (0.5, 1.0)))]


def plain_two(rng: np.random.Generator) -> Strokes:
    top = arc((0.3, 0.28), (0.3, 0.28), 190, 390)
    return [joined(top, line(tuple(top[-1]), (0.0, 1.0), (_about(rng, 0.65), 1.0)))]


def round_three(rng: np.random.Generator) -> Strokes:
    waist = _about(rng, 0.47)
    return [joined(arc((0.3, waist / 2), (0.26, waist / 2), 200, 450),
                   arc((0.3, (1.0 + waist) / 2), (0.3, (1.0 - waist) / 2), 270, 520))]


def crossing_four(rng: np.random.Generator) -> Strokes:
    bar = _about(rng, 0.62)
    return [line((0.3, 0.0), (0.0, bar), (0.85, bar)), line((0.6, 0.2), (0.6, 1.0))]


def angular_five(rng: np.random.Generator) -> Strokes:
    return [joined(line((0.65, 0.0), (0.12, 0.0), (0.04, 0.45), (0.4, 0.4)),
                   arc((0.35, 0.7), (0.3, 0.3), -80, 150))]


def straight_six(rng: np.random.Generator) -> Strokes:
    loop = _about(rng, 0.25)
    return [joined(line((0.55, 0.0), (0.05, 1.0 - loop)), arc((0.05 + loop, 1.0 - loop), (loop, loop), 180, -180))]


def ticked_seven(rng: np.random.Generator) -> Strokes:
    return [line((0.0, _about(rng, 0.15)), (0.0, 0.0), (0.6, 0.0), (_about(rng, 0.2), 1.0))]


def figure_eight(rng: np.random.Generator) -> Strokes:
    angles = np.radians(np.linspace(0, 360, 120))
    return [np.stack([0.3 + 0.3 * np.sin(2 * angles) / 1.2, 0.5 - 0.5 * np.cos(angles)], axis=1)]


def curved_nine(rng: np.random.Generator) -> Strokes:
    loop = _about(rng, 0.27)
    tail = arc((loop, 0.6), (loop, 0.4), 0, 120)
    return [joined(arc((loop, loop), (loop, loop), 0, -360), line((2 * loop, loop), (2 * loop, 0.6)), tail)]


@dataclass(frozen=True)
class Letterform:
    """One way of writing a digit: its name, the digit, how to draw it, and which side of the split it is on."""

    name: str
    digit: int
    draw: Draw
    evaluation: bool


LETTERFORMS: tuple[Letterform, ...] = (
    Letterform("0 oval", 0, oval_zero, True),
    Letterform("1 flagged", 1, flagged_one, True),
    Letterform("1 flagged and footed", 1, flagged_footed_one, True),
    Letterform("2 looped", 2, looped_two, True),
    Letterform("3 flat-topped", 3, flat_topped_three, True),
    Letterform("4 open", 4, open_four, True),
    Letterform("4 closed", 4, closed_four, True),
    Letterform("5 with a bowl", 5, bowl_five, True),
    Letterform("6 closed loop", 6, closed_loop_six, True),
    Letterform("7 crossed", 7, crossed_seven, True),
    Letterform("8 stacked loops", 8, stacked_eight, True),
    Letterform("9 closed loop", 9, closed_loop_nine, True),
    Letterform("0 round", 0, round_zero, False),
    Letterform("1 hooked", 1, hooked_one, False),
    Letterform("2 plain", 2, plain_two, False),
    Letterform("3 round", 3, round_three, False),
    Letterform("4 crossing", 4, crossing_four, False),
    Letterform("5 angular", 5, angular_five, False),
    Letterform("6 straight stem", 6, straight_six, False),
    Letterform("7 ticked", 7, ticked_seven, False),
    Letterform("8 figure", 8, figure_eight, False),
    Letterform("9 curved tail", 9, curved_nine, False),
)


def letterforms_of(digit: int, evaluation: bool) -> tuple[Letterform, ...]:
    """The letterforms of one digit on one side of the split."""
    return tuple(form for form in LETTERFORMS if form.digit == digit and form.evaluation == evaluation)


def wobble(strokes: Strokes, rng: np.random.Generator, config: LetterformConfig = LETTERFORMS_CONFIG) -> Strokes:
    """Strokes bent by a smooth random displacement, as no hand draws a straight line or a true circle."""
    amount = rng.uniform(*config.wobble)
    wobbled = []
    for stroke in strokes:
        sigma = max(1.0, config.wobble_smoothness * len(stroke))
        noise = ndimage.gaussian_filter1d(rng.normal(size=stroke.shape), sigma, axis=0, mode="nearest")
        scale = noise.std()
        wobbled.append(stroke + (noise / scale * amount if scale > 0 else 0.0))
    return wobbled


def letterform_strokes(form: Letterform, rng: np.random.Generator,
                       config: LetterformConfig = LETTERFORMS_CONFIG) -> Strokes:
    """One letterform's centre lines, (k, 2) (x, y) arrays, with random proportions, width and wobble."""
    aspect = np.array([rng.uniform(*config.aspect), 1.0])
    return wobble([stroke * aspect for stroke in form.draw(rng)], rng, config)
