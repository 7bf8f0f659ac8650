"""Typeset digits: the installed font files, grouped into designs, split once into evaluation and training.

A "design" is what a reader would call one typeface: Liberation Sans, Arimo,
Nimbus Sans, FreeSans and TeX Gyre Heros are all Helvetica, so they share one
design and always fall on the same side of the split. The split hashes the
design's name, so it does not depend on which fonts happen to be installed:
a design is for evaluation on every machine or on none. Evaluation designs are
never trained on (`FontSplit.training_designs` is what training may use).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

DIGITS = "0123456789"


@dataclass(frozen=True)
class FontSplit:
    """Where fonts are looked for, which are left out, how families form designs and how designs are split."""

    font_dirs: tuple[str, ...] = ("/usr/share/fonts", "/usr/share/texmf/fonts/opentype")
    suffixes: tuple[str, ...] = (".ttf", ".otf")
    # not digits people write: symbols, maths, emoji, keycaps, drop caps; and the script-specific Noto
    # families, whose Latin digits are Noto Sans's or missing
    excluded_families: tuple[str, ...] = (
        r"Math", r"Symbol", r"Emoji", r"Dingbat", r"D050000L", r"Initials", r"Keyboard", r"Music",
        r"^Noto (?!(Sans|Serif)( Display| Mono)?$)",
    )
    # families of one design under several names (metric clones, forks, sister families), by name prefix
    design_aliases: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("helvetica", ("Arimo", "Liberation Sans", "Nimbus Sans", "FreeSans", "TeX Gyre Heros")),
        ("times", ("Tinos", "Liberation Serif", "Nimbus Roman", "FreeSerif", "TeX Gyre Termes")),
        ("courier", ("Cousine", "Liberation Mono", "Nimbus Mono", "FreeMono", "TeX Gyre Cursor")),
        ("palatino", ("P052", "TeX Gyre Pagella")),
        ("century schoolbook", ("C059", "TeX Gyre Schola")),
        ("bookman", ("URW Bookman", "TeX Gyre Bonum")),
        ("avant garde", ("URW Gothic", "TeX Gyre Adventor")),
        ("zapf chancery", ("Z003", "TeX Gyre Chorus")),
        ("bitstream vera", ("DejaVu", "Verana")),
        ("computer modern", ("CMU", "Latin Modern", "LM ")),
        ("open sans", ("Open Sans", "Noto Sans")),
        ("noto serif", ("Noto Serif",)),
        ("libertine", ("Linux Libertine", "Linux Biolinum")),
        ("because we", ("Because We",)),
        ("beteckna", ("Beteckna",)),
        ("cabin", ("Cabin",)),
        ("gentium", ("Gentium",)),
        ("quicksand", ("Quicksand",)),
        ("dkg handwriting", ("DkgHandwriting",)),
        ("ecolier", ("Ecolier",)),
    )
    # hairline weights: a pen on the canvas never draws a line this faint
    excluded_styles: tuple[str, ...] = (r"Hairline", r"Thin", r"ExtraLight")
    split_salt: str = "out-of-style-1"
    evaluation_share: float = 0.5  # of designs, by hash: about half are never trained on
    probe_size: int = 48  # px: digits are rendered this large to check the font really has them


FONT_SPLIT = FontSplit()


@dataclass(frozen=True)
class FontFace:
    """One font file and the names it reports."""

    path: str
    family: str
    style: str
    design: str


def design_of(family: str, split: FontSplit = FONT_SPLIT) -> str:
    """The typeface a family belongs to: an alias group, else its first word, lower-cased."""
    for design, prefixes in split.design_aliases:
        if family.startswith(prefixes):
            return design
    return family.split()[0].lower()


def is_evaluation_design(design: str, split: FontSplit = FONT_SPLIT) -> bool:
    """A stable coin toss on the design's name: the same answer on every machine and every run."""
    digest = hashlib.sha256(f"{split.split_salt}:{design}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < split.evaluation_share


def _is_excluded(family: str, style: str, split: FontSplit) -> bool:
    return (any(re.search(pattern, family) for pattern in split.excluded_families)
            or any(re.search(pattern, style) for pattern in split.excluded_styles))


def has_distinct_digits(font: ImageFont.FreeTypeFont) -> bool:
    """True if all ten digits render with ink and no two alike (a missing glyph renders as one shared box)."""
    renders = []
    for digit in DIGITS:
        mask = font.getmask(digit)
        pixels = bytes(mask)
        if not any(pixels):
            return False
        renders.append((mask.size, pixels))
    return len(set(renders)) == len(renders)


def _font_files(split: FontSplit) -> Iterable[Path]:
    for folder in split.font_dirs:
        root = Path(folder)
        if root.is_dir():
            yield from sorted(p for p in root.rglob("*") if p.suffix.lower() in split.suffixes)


@functools.lru_cache(maxsize=4)
def installed_faces(split: FontSplit = FONT_SPLIT) -> tuple[FontFace, ...]:
    """Every installed font file with readable, distinct digits, outside the excluded families, sorted by path."""
    faces = []
    for path in _font_files(split):
        try:
            font = ImageFont.truetype(str(path), split.probe_size)
            family, style = font.getname()
        except OSError:  # bitmap-only or unreadable files (e.g. colour emoji)
            continue
        if family is None or _is_excluded(family, style or "", split) or not has_distinct_digits(font):
            continue
        faces.append(FontFace(str(path), family, style or "", design_of(family, split)))
    return tuple(faces)


def faces_by_design(evaluation: bool, split: FontSplit = FONT_SPLIT) -> dict[str, tuple[FontFace, ...]]:
    """The installed faces of the evaluation designs (or of the training designs), grouped by design."""
    groups: dict[str, list[FontFace]] = {}
    for face in installed_faces(split):
        if is_evaluation_design(face.design, split) == evaluation:
            groups.setdefault(face.design, []).append(face)
    return {design: tuple(faces) for design, faces in sorted(groups.items())}


@functools.lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def glyph_ink(face: FontFace, digit: int, size: int) -> np.ndarray:
    """The digit typeset at `size` px as white-on-black float32 ink in [0, 1], cropped to its ink."""
    font = _font(face.path, size)
    left, top, right, bottom = font.getbbox(str(digit))
    margin = size // 4
    image = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 0)
    ImageDraw.Draw(image).text((margin - left, margin - top), str(digit), font=font, fill=255)
    ink = np.asarray(image, dtype=np.float32) / 255.0
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
