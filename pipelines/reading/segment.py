"""Cut a written number into its digits, left to right, each normalised exactly as `canvas_to_mnist` does.

The ink is split into connected pieces; specks are dropped; pieces that
stand over one another (a 5's detached bar, a 4 written in two strokes) are
merged into one digit; a piece too wide for one digit is two or more that
touch, and is cut where the cut leaves the likeliest digits. Whether to cut
is asked of the piece counter when the caller lends one (`Counter`, see
`pipelines.reading.pieces`); where, and without a counter whether, is judged
by the models when lent (`Judge`), else by how little ink the cut goes
through and how evenly it divides the piece. The models choose among
straight cuts, cuts that wind between the strokes (a cheapest path through
the piece, `skimage.graph.MCP`), both again with the ink where the cut
crossed given to both sides, and splits stroke by stroke at the skeleton's
junctions: touching digits' strokes often cross. Their sureness is weighed
by the cut scorer the counter carries (`pipelines.reading.cuts`), which
knows a fragment from a digit better than they do.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.graph import MCP
from skimage.morphology import skeletonize

from pipelines.reading.canvas import (FRONT_END, FrontEndConfig, InkMap, digit_to_mnist, has_enough_ink, ink_box,
                                      read_ink)
from pipelines.reading.photo import pen_width

Judge = Callable[[np.ndarray], np.ndarray]
"""(n, 28, 28) candidate digits -> (n,) how sure the models are that each is one digit (e.g. the soft vote's top
probability)."""

Counter = Callable[[Sequence[np.ndarray]], np.ndarray]
"""Pieces of ink (bool, the input's working size) -> how likely each holds several digits rather than one. Asked
about all of a number's pieces in one call, which costs little more than asking about one. A counter may carry a
`cut_scorer` (`pipelines.reading.cuts.CutScorer`, trained with it), which then helps the models choose where to
cut."""

Box = tuple[int, int, int, int]
"""(top, left, bottom, right) in the input's pixels, bottom and right exclusive."""

Cut = tuple[np.ndarray, np.ndarray]
"""The line of a cut: its rows and, on each, the column it crosses; straight and leaning, or winding."""


@dataclass(frozen=True)
class SegmentationConfig:
    """Every constant of the segmentation, as shares of the tallest piece's height (the writing's size)."""

    speck_extent: float = 0.2  # pieces smaller than this are dust or stray dots...
    blot_pens: float = 1.5  # ...and so are pieces no longer than this many widths of their own pen: a marker's blot
    overlap_to_merge: float = 0.5  # horizontal overlap, as a share of the narrower piece, that makes one digit
    small_piece_height: float = 0.45  # a piece this short is part of a digit, never a digit of its own...
    small_piece_ink: float = 0.3  # ...nor is one with this little of a typical digit's ink, unless it is tall
    tall_piece_height: float = 0.65  # two pieces this tall are two digits even where they overlap (slanted writing)
    full_overlap: float = 0.8  # unless one lies this much over the other
    loop_width: float = 0.45  # a piece round a hole this wide is one digit (a wide 0), not two...
    judged_loop_width: float = 0.65  # ...or this wide when the models judge: a 9 or 4 touching a 1 has a loop
    # nearly half the pair's width, which they tell from a 0 (calibrated on seeds 7 and 11: 0.55-0.7 alike)
    max_digit_aspect: float = 1.3  # wider than this, a piece holds several touching digits...
    judged_digit_aspect: float = 0.85  # ...or, when the models judge, wider than this it may: they decide
    counted_digit_aspect: float = 0.5  # ...or, with a piece counter, wider than this it may: the counter decides
    several_above: float = 0.8  # the counter's probability of several digits from which a piece is cut
    digit_aspect: float = 0.7  # typical width of a digit, to guess how many a wide piece holds
    cut_zone: tuple[float, float] = (0.2, 0.8)  # where, across a two-digit piece, a cut may fall
    cut_candidates: int = 12  # cuts tried per piece, those through the least ink
    cut_leans: tuple[float, ...] = (-0.35, -0.15, 0.0, 0.15, 0.35)  # a cut leans with slanted writing
    cut_off_centre: float = 0.5  # how much a cut is penalised for straying from where a digit should end
    winding_candidates: int = 12  # winding cuts tried besides the straight ones, those through the least ink
    winding_ink_cost: float = 8.0  # a winding cut's step through ink costs this many steps through blank
    shared_reach: float = 1.0  # pen widths: the other side's ink this near a side is tried as both sides' too
    junction_reach: int = 2  # pixels of skeleton cleared round a junction, so the branches part there
    most_undecided_branches: int = 7  # branches in the cut zone tried on either side (2 ** this splits at most)
    most_digits_winding: int = 3  # winding, shared and stroke-by-stroke splits are tried on pieces as wide as this
    # many digits or less: they cost several times more, and a scribble across the canvas would take seconds
    max_digits: int = 12  # a wide piece is cut no further than this many digits


SEGMENTATION = SegmentationConfig()


@dataclass(frozen=True)
class DigitPiece:
    """One digit found in the input: what the models read, and where it was."""

    image: np.ndarray  # (28, 28) float32 in [0, 1]
    box: Box


def split_digits(image: np.ndarray, judge: Judge | None = None, counter: Counter | None = None) -> list[np.ndarray]:
    """(H, W), (H, W, 3) or (H, W, 4) uint8, canvas or photo -> its digits as (28, 28) float32, left to right.

    [] when nothing is written.
    """
    return [piece.image for piece in find_digits(image, judge, counter)]


def find_digits(image: np.ndarray, judge: Judge | None = None, counter: Counter | None = None,
                config: SegmentationConfig = SEGMENTATION, front_end: FrontEndConfig = FRONT_END) -> list[DigitPiece]:
    """The digits of a written number with their boxes, left to right; [] when nothing is written."""
    ink_map = read_ink(image, front_end)
    if not has_enough_ink(ink_map, front_end):
        return []
    groups = _merge_stacked(_pieces(ink_map.mask, config), config)
    writing_height = max(_height(group) for group in groups)
    cutting = Cutting(judge, counter, config)
    masks = [part for group, several in zip(groups, cutting.count(groups, writing_height))
             for part in _split_wide(group, writing_height, ink_map, cutting, several=several)]
    masks.sort(key=lambda mask: np.argwhere(mask)[:, 1].mean())  # by centre: slanted digits overlap
    return [DigitPiece(digit_to_mnist(ink_map.ink * mask, ink_map.photo, front_end), _box(mask, ink_map))
            for mask in masks]


def _pieces(mask: np.ndarray, config: SegmentationConfig) -> list[np.ndarray]:
    """Connected pieces of ink (8-connected), specks and blots dropped, as full-size boolean masks."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    boxes = ndimage.find_objects(labels)
    extents = [max(b[0].stop - b[0].start, b[1].stop - b[1].start) for b in boxes]
    tallest = max(b[0].stop - b[0].start for b in boxes)
    kept = [index for index in range(count) if extents[index] >= config.speck_extent * tallest]
    if len(kept) > 1:
        kept = [index for index in kept if extents[index] >= config.small_piece_height * tallest
                or not _is_blot(labels[boxes[index]] == index + 1, config)] or kept
    return [labels == index + 1 for index in kept]


def _is_blot(piece: np.ndarray, config: SegmentationConfig) -> bool:
    """A dot rather than a stroke: no longer than a few widths of its own pen (twice its deepest ink).

    Too big to be a speck beside a fat marker's digit, yet nothing of a digit's shape: joined to its neighbour it
    makes that digit look like two.
    """
    pen = 2 * float(ndimage.distance_transform_edt(np.pad(piece, 1)).max())
    return max(piece.shape) <= config.blot_pens * pen


def _columns(mask: np.ndarray) -> tuple[int, int]:
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(cols[-1]) + 1


def _width(mask: np.ndarray) -> int:
    left, right = _columns(mask)
    return right - left


def _height(mask: np.ndarray) -> int:
    rows = np.flatnonzero(mask.any(axis=1))
    return int(rows[-1] - rows[0] + 1)


def _merge_stacked(pieces: list[np.ndarray], config: SegmentationConfig) -> list[np.ndarray]:
    """Pieces standing over one another become one digit; a small piece on its own joins its nearest neighbour."""
    groups = sorted(pieces, key=lambda piece: _columns(piece)[0])
    tallest = max(_height(group) for group in groups)
    merged = True
    while merged and len(groups) > 1:
        merged = False
        for i in range(len(groups) - 1):
            if _stacked(groups[i], groups[i + 1], tallest, config):
                groups[i : i + 2] = [groups[i] | groups[i + 1]]
                merged = True
                break
    typical_ink = float(np.median([group.sum() for group in groups]))
    for index in sorted(range(len(groups)), key=lambda i: _height(groups[i])):
        height = _height(groups[index])
        small = height < config.small_piece_height * tallest or (
            groups[index].sum() < config.small_piece_ink * typical_ink and height < config.tall_piece_height * tallest)
        if len(groups) > 1 and small:
            return _merge_stacked(_join_nearest(groups, index), config)
    return groups


def _stacked(a: np.ndarray, b: np.ndarray, tallest: int, config: SegmentationConfig) -> bool:
    """One piece over the other (a 5's bar, a 4's second stroke), not two slanted digits side by side."""
    (left_a, right_a), (left_b, right_b) = _columns(a), _columns(b)
    narrower = min(right_a - left_a, right_b - left_b)
    overlap = (min(right_a, right_b) - max(left_a, left_b)) / narrower
    both_tall = min(_height(a), _height(b)) >= config.tall_piece_height * tallest
    return overlap >= (config.full_overlap if both_tall else config.overlap_to_merge)


def _join_nearest(groups: list[np.ndarray], index: int) -> list[np.ndarray]:
    left, right = _columns(groups[index])
    gaps = [max(_columns(other)[0] - right, left - _columns(other)[1]) if other_index != index else np.inf
            for other_index, other in enumerate(groups)]
    nearest = int(np.argmin(gaps))
    joined = groups[nearest] | groups[index]
    return [joined if i == nearest else group for i, group in enumerate(groups) if i != index]


@dataclass(frozen=True)
class Cutting:
    """What decides the cuts: the models' sureness and the piece counter, either of them possibly absent."""

    judge: Judge | None
    counter: Counter | None
    config: SegmentationConfig

    def count(self, masks: list[np.ndarray], writing_height: int) -> list[float | None]:
        """The counter's probability of several digits in each piece, asked in one call; 0 for pieces too narrow
        to ask about (`counted_digit_aspect`), None for all when there is no counter."""
        if self.counter is None:
            return [None] * len(masks)
        wide = [index for index, mask in enumerate(masks)
                if _width(mask) > self.config.counted_digit_aspect * writing_height]
        answers = np.zeros(len(masks))
        if wide:
            answers[wide] = self.counter([masks[index] for index in wide])
        return [float(answer) for answer in answers]

    def may_hold_several(self, mask: np.ndarray, writing_height: int, several: float | None = None) -> bool:
        """Whether a piece is worth cutting: the counter says so, or without one, it is wide without a wide hole.

        With no help, a piece is tried when wider than `max_digit_aspect` times the writing's height; with
        the models judging, from `judged_digit_aspect` on, and they then keep it whole if surer of it than of
        its halves; with a counter, from `counted_digit_aspect` on, when the counter finds several digits
        (`several`: its answer when already asked).
        """
        config = self.config
        if self.counter is not None:
            several = self.count([mask], writing_height)[0] if several is None else several
            return several >= config.several_above
        width = _width(mask)
        widest, loop = ((config.judged_digit_aspect, config.judged_loop_width) if self.judge is not None
                        else (config.max_digit_aspect, config.loop_width))
        return width > widest * writing_height and not _has_wide_loop(mask, loop * width)


def _split_wide(mask: np.ndarray, writing_height: int, ink_map: InkMap, cutting: Cutting,
                depth: int = 1, several: float | None = None) -> list[np.ndarray]:
    """A piece that may hold several digits, cut in two where the cut is best, the rest again if it may still.

    The best cut is the one after which the models are surest of both sides (their sureness weighed by how
    well the cut scorer finds the sides part the digits, when the counter carries one), or without them the
    cut through the least ink, nearest where a digit should end. With the models judging, they keep whole a
    piece they are surer of than of its halves, unless it is a first piece the counter found several digits in.
    """
    config, judge = cutting.config, cutting.judge
    if depth >= config.max_digits or not cutting.may_hold_several(mask, writing_height, several):
        return [mask]
    options, straight = cut_options(mask, writing_height, config, every_kind=judge is not None)
    if not options:
        return [mask]
    best = 0  # candidates come best first by ink and position
    if judge is not None:
        images = np.stack([digit_to_mnist(ink_map.ink * side, ink_map.photo) for pair in options for side in pair])
        sureness = np.asarray(judge(images)).reshape(len(options), 2).min(axis=1)
        scorer = getattr(cutting.counter, "cut_scorer", None)
        best = int((sureness if scorer is None or len(options) == 1
                    else sureness * scorer(options, images, writing_height)).argmax())
        if cutting.counter is None or depth > 1:  # what is left after a cut, fragments and all, is unlike
            # anything the counter learnt from: the models must also be surer of its halves than of it whole.
            # Only the straight cuts count here: the more kinds of cut tried, the likelier some pair of
            # fragments looks surer than a whole digit, so the other kinds only choose where, never whether.
            whole = float(np.asarray(judge(digit_to_mnist(ink_map.ink * mask, ink_map.photo)[None]))[0])
            if whole >= sureness[:straight].max():
                return [mask]
    first, rest = options[best]
    own_rest = rest & ~first  # ink both sides were given is the first digit's too
    if not own_rest.any() or _digit_widths(_width(own_rest), writing_height, config) < 2:
        return [first, rest]  # what is left is cut again only when as wide as two digits
    return [first, *_split_wide(rest, writing_height, ink_map, cutting, depth + 1)]


def cut_options(mask: np.ndarray, writing_height: int, config: SegmentationConfig = SEGMENTATION,
                every_kind: bool = True) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """The ways of cutting the leftmost digit off a piece, as (that digit, the rest), and how many of them, first
    in the list, are straight cuts (best first by ink and position). With `every_kind`, and on a piece at most
    `most_digits_winding` digits wide (the other kinds cost several times more), also winding cuts, both kinds
    again sharing the ink where they cross, and splits stroke by stroke."""
    left, right = _columns(mask)
    width = right - left
    digits = max(2, _digit_widths(width, writing_height, config))
    shortest = config.small_piece_height * writing_height
    straight = _options(mask, _candidate_cuts(mask, left, width, digits, config), shortest)
    options = straight
    if straight and every_kind and digits <= config.most_digits_winding:
        crop = ink_box(mask)
        skeleton = skeletonize(mask[crop])
        options = straight + _options(mask, _winding_cuts(mask, left, width, digits, config), shortest)
        options += _sharing_the_crossing(mask, crop, skeleton, options, config)
        options += _stroke_options(mask, crop, skeleton, digits, shortest, config)
    return options, len(straight)


def _digit_widths(width: int, writing_height: int, config: SegmentationConfig) -> int:
    """How many typical digits' widths a piece this wide holds."""
    return round(width / (config.digit_aspect * writing_height))


def _options(mask: np.ndarray, cuts: list[Cut], shortest: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two sides each cut leaves, where both hold ink at least `shortest` tall."""
    return [(a, b) for a, b in (_cut(mask, cut) for cut in cuts)
            if a.any() and b.any() and min(_height(a), _height(b)) >= shortest]


def _sharing_the_crossing(mask: np.ndarray, crop: tuple[slice, slice], skeleton: np.ndarray,
                          options: list[tuple[np.ndarray, np.ndarray]],
                          config: SegmentationConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each cut again with the ink where it crossed given to both sides: where the strokes of two touching digits
    cross, neither should lose its part of the crossing. `crop` is the piece's `ink_box`, `skeleton` that of
    the ink in it."""
    reach = config.shared_reach * pen_width(mask[crop], skeleton)
    shared = []
    for a, b in options:
        wider_a, wider_b = a.copy(), b.copy()
        wider_a[crop] |= _near(b[crop], a[crop], reach)
        wider_b[crop] |= _near(a[crop], b[crop], reach)
        shared.append((wider_a, wider_b))
    return shared


def _near(ink: np.ndarray, side: np.ndarray, reach: float) -> np.ndarray:
    """The ink within `reach` of a side. Only the columns where that can be are measured: the distance
    transform is most of the cost of sharing the crossings."""
    near = np.zeros_like(ink)
    ink_columns, side_columns = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(side.any(axis=0))
    margin = int(np.ceil(reach)) + 1
    low, high = max(ink_columns[0], side_columns[0] - margin), min(ink_columns[-1], side_columns[-1] + margin) + 1
    if low >= high:
        return near
    start, stop = max(0, low - margin), min(ink.shape[1], high + margin)
    distance = ndimage.distance_transform_edt(~side[:, start:stop])[:, low - start : high - start]
    near[:, low:high] = ink[:, low:high] & (distance <= reach)
    return near


def _stroke_options(mask: np.ndarray, crop: tuple[slice, slice], skeleton: np.ndarray, digits: int,
                    shortest: float, config: SegmentationConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Splits stroke by stroke where strokes cross: the skeleton is cut at its junctions in the cut zone, each
    branch meeting one tried on either side, the others on the side of their centre (the ink goes with its
    nearest branch; a junction's with both). `crop` and `skeleton` as for `_sharing_the_crossing`."""
    piece = mask[crop]
    expected, zone = _cut_zone(piece.shape[1], digits, config)
    if not len(zone):
        return []
    neighbours = ndimage.convolve(skeleton.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    columns = np.arange(piece.shape[1])[None, :]
    junctions = skeleton & (neighbours >= 3) & (columns >= zone[0]) & (columns <= zone[-1])
    crossings = ndimage.binary_dilation(junctions, iterations=config.junction_reach) & skeleton
    branches, count = ndimage.label(skeleton & ~crossings, structure=np.ones((3, 3)))
    if not crossings.any() or count < 2:
        return []
    meeting = ndimage.binary_dilation(crossings, structure=np.ones((3, 3)))  # the crossings and their neighbours
    undecided = [int(b) for b in np.unique(branches[meeting]) if b]
    if not undecided or len(undecided) > config.most_undecided_branches:
        return []
    centres = ndimage.center_of_mass(skeleton, branches, range(1, count + 1))
    on_left = {b for b, (_, column) in enumerate(centres, start=1) if b not in undecided and column < expected}
    on_right = {b for b in range(1, count + 1) if b not in undecided and b not in on_left}
    _, (near_rows, near_cols) = ndimage.distance_transform_edt(~skeleton, return_indices=True)
    nearest = np.where(crossings, 0, branches)[near_rows, near_cols]  # 0: a crossing's ink, on both sides
    options = []
    for goes_right in itertools.product((False, True), repeat=len(undecided)):
        left_branches = on_left | {b for b, right in zip(undecided, goes_right) if not right}
        right_branches = on_right | {b for b, right in zip(undecided, goes_right) if right}
        if left_branches and right_branches:
            a, b = np.zeros_like(mask), np.zeros_like(mask)
            a[crop] = piece & (np.isin(nearest, list(left_branches)) | (nearest == 0))
            b[crop] = piece & (np.isin(nearest, list(right_branches)) | (nearest == 0))
            if min(_height(a), _height(b)) >= shortest:
                options.append((a, b))
    return options


def _has_wide_loop(mask: np.ndarray, widest_loop: float) -> bool:
    """A hole in the ink at least `widest_loop` wide: a flat 0 drawn wide, which no cut should halve."""
    holes, count = ndimage.label(ndimage.binary_fill_holes(mask) & ~mask)
    return any(box[1].stop - box[1].start >= widest_loop for box in ndimage.find_objects(holes)) \
        if count else False


def _candidate_cuts(mask: np.ndarray, left: int, width: int, digits: int, config: SegmentationConfig) -> list[Cut]:
    """Cuts to try for cutting off the leftmost digit: through little ink, near where one digit should end.

    Every lean is tried at every column of the zone; they are ranked by the ink they cut through and their
    distance from where the digit should end, and the best `cut_candidates` kept.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    middle = (rows[0] + rows[-1]) / 2
    expected, zone = _cut_zone(width, digits, config)
    ranked = []
    for lean in config.cut_leans:
        crossed = _cut_line(mask.shape, middle, lean)
        for column in zone:
            ink = int(mask[crossed[0], np.clip(crossed[1] + left + column, 0, mask.shape[1] - 1)].sum())
            cost = ink / max(1.0, float(len(rows))) + config.cut_off_centre * abs(column - expected) / expected
            ranked.append((cost, (left + int(column), lean)))
    ranked.sort(key=lambda item: item[0])
    return [_leaning_line(mask.shape, middle, column, lean) for _, (column, lean) in ranked[: config.cut_candidates]]


def _cut_zone(width: int, digits: int, config: SegmentationConfig) -> tuple[float, np.ndarray]:
    """Where the leftmost digit should end, and the columns (from the piece's left) where a cut may fall."""
    expected = width / digits
    low, high = config.cut_zone
    return expected, np.arange(max(1, int(expected * (2 * low))), min(width - 1, int(expected * (2 * high))) + 1)


def _leaning_line(shape: tuple[int, int], middle: float, column: int, lean: float) -> Cut:
    rows, offsets = _cut_line(shape, middle, lean)
    return rows, np.clip(column + offsets, 0, shape[1] - 1)


def _winding_cuts(mask: np.ndarray, left: int, width: int, digits: int, config: SegmentationConfig) -> list[Cut]:
    """Cuts from top to bottom that wind between the strokes of two touching digits, crossing as little
    ink as they can: for each column of the zone, the cheapest such path through it at the middle row; the
    `winding_candidates` through least ink nearest where the digit should end."""
    if not config.winding_candidates:
        return []
    expected, zone = _cut_zone(width, digits, config)
    rows = np.flatnonzero(mask.any(axis=1))
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)
    costs = 1.0 + config.winding_ink_cost * mask[top : top + height, left : left + width]
    down, up = MCP(costs, offsets=[(1, -1), (1, 0), (1, 1)]), MCP(costs, offsets=[(-1, -1), (-1, 0), (-1, 1)])
    from_top, _ = down.find_costs([(0, column) for column in range(width)])
    from_bottom, _ = up.find_costs([(height - 1, column) for column in range(width)])
    middle = height // 2
    through = from_top[middle] + from_bottom[middle] - costs[middle]
    ink_crossed = (through - height) / config.winding_ink_cost / height
    rank = ink_crossed[zone] + config.cut_off_centre * np.abs(zone - expected) / expected
    cuts, seen = [], set()
    for column in zone[np.argsort(rank, kind="stable")]:
        path = down.traceback((middle, int(column)))[:-1] + up.traceback((middle, int(column)))[::-1]
        columns = np.array([point[1] for point in path]) + left
        key = columns.tobytes()
        if key in seen:
            continue
        seen.add(key)
        line_columns = np.empty(mask.shape[0], dtype=int)
        line_columns[:top], line_columns[top : top + height] = columns[0], columns
        line_columns[top + height :] = columns[-1]
        cuts.append((np.arange(mask.shape[0]), line_columns))
        if len(cuts) == config.winding_candidates:
            break
    return cuts


def _cut_line(shape: tuple[int, int], middle: float, lean: float) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of a straight cut through column 0 at the middle row, leaning `lean` per row."""
    rows = np.arange(shape[0])
    return rows, np.round((rows - middle) * lean).astype(int)


def _cut(mask: np.ndarray, cut: Cut) -> tuple[np.ndarray, np.ndarray]:
    """Split along a cut: each piece the cut leaves goes to the side holding most of it (the cut line left)."""
    line_rows, line_cols = cut
    on_line = np.zeros_like(mask)
    on_line[line_rows, line_cols] = True
    on_line |= np.roll(on_line, 1, axis=1)  # two pixels wide, so no diagonal step leaks across
    boundary = np.zeros(mask.shape[0], dtype=float)
    boundary[line_rows] = line_cols
    labels, _ = ndimage.label(mask & ~on_line, structure=np.ones((3, 3)))
    left = mask & on_line
    for index, piece in enumerate(ndimage.find_objects(labels), start=1):
        region = np.argwhere(labels[piece] == index) + (piece[0].start, piece[1].start)
        if np.mean(region[:, 1] < boundary[region[:, 0]]) > 0.5:
            left[region[:, 0], region[:, 1]] = True
    return left, mask & ~left


def _box(mask: np.ndarray, ink_map: InkMap) -> Box:
    rows, cols = ink_box(mask)
    scale = ink_map.scale
    return (int(rows.start / scale), int(cols.start / scale), int(np.ceil(rows.stop / scale)),
            int(np.ceil(cols.stop / scale)))
