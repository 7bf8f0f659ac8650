"""From what a user asks (`--kind`, `--models`, `--sizes`, `--grid`) to the list of fits, checked before any runs."""

from __future__ import annotations

from typing import Any

from sklearn.model_selection import ParameterGrid, ParameterSampler

from pipelines import config
from pipelines.studies.settings import StudySettings
from pipelines.studies.tasks import FitTask, plan_learning_curve, plan_sweep


class StudyError(ValueError):
    """A study that cannot be planned as asked; the message says what to change."""


def check_sizes(sizes: list[int], available: int, settings: StudySettings) -> list[int]:
    """The sizes, sorted, each between the smallest a CNN can hold out from and the training set's size."""
    for size in sizes:
        if size < settings.min_size:
            raise StudyError(f"training size {size:,} is too small: the smallest is {settings.min_size:,}")
        if size > available:
            raise StudyError(f"training size {size:,} is larger than the {available:,} training images of this "
                             "data source; choose smaller --sizes or another --data")
    return sorted(set(sizes))


def default_sizes(requested: list[int] | None, fallback: tuple[int, ...], available: int) -> list[int]:
    """The sizes asked for, else the defaults that fit in the training set (the sample holds only 3,000)."""
    if requested:
        return requested
    fitting = [size for size in fallback if size <= available]
    return fitting or [available]


def parse_grid(model: str, specs: list[str] | None, settings: StudySettings) -> dict[str, list[Any]]:
    """`["C=1,10", "gamma=0.01,0.1"]` into {"C": [1.0, 10.0], ...}, typed like the model's hyperparameters."""
    if not specs:
        return {name: list(values) for name, values in settings.sweep_grids[model].items()}
    params = config.PROFILES[settings.profile].params_for(model)
    grid = {}
    for spec in specs:
        name, _, values = spec.partition("=")
        if not values or not hasattr(params, name):
            known = ", ".join(name for name, value in vars(params).items() if isinstance(value, (int, float, str)))
            raise StudyError(f"--grid {spec!r}: write NAME=V1,V2,... with NAME one of {model}'s hyperparameters: "
                             f"{known}")
        kind = type(getattr(params, name))
        try:
            grid[name] = [kind(value) for value in values.split(",")]
        except ValueError:
            raise StudyError(f"--grid {spec!r}: {name} takes {kind.__name__} values") from None
    return grid


def sweep_combinations(grid: dict[str, list[Any]], search: str, iterations: int, seed: int) -> list[dict[str, Any]]:
    """Every combination of the grid, or `iterations` of them drawn at random (without repeats)."""
    combinations = list(ParameterGrid(grid))
    if search == "grid" or iterations >= len(combinations):
        return combinations
    return list(ParameterSampler(grid, n_iter=iterations, random_state=seed))


def plan(kind: str, models: list[str], sizes: list[int] | None, seeds: list[int] | None, available: int,
         settings: StudySettings, grid_specs: list[str] | None = None, search: str = "grid",
         iterations: int | None = None) -> tuple[list[FitTask], dict[str, Any]]:
    """The fits of a study and what describes it in its plan (sizes, seeds, grid)."""
    if kind == "learning-curve":
        chosen_sizes = check_sizes(default_sizes(sizes, settings.learning_curve_sizes, available), available, settings)
        chosen_seeds = sorted(set(seeds or settings.seeds))
        return (plan_learning_curve(models, chosen_sizes, chosen_seeds),
                {"sizes": chosen_sizes, "seeds": chosen_seeds})
    if kind != "sweep":
        raise StudyError(f"unknown study kind {kind!r}: learning-curve or sweep")
    if len(models) != 1:
        raise StudyError(f"a sweep tunes one model; --models names {len(models)}: {' '.join(models)}")
    if sizes and len(sizes) != 1:
        raise StudyError("a sweep cross-validates on one training subset: give one --sizes value")
    (size,) = check_sizes(default_sizes(sizes, (settings.sweep_size,), available), available, settings)
    grid = parse_grid(models[0], grid_specs, settings)
    combinations = sweep_combinations(grid, search, iterations or settings.random_search_iterations, settings.seed)
    tasks = plan_sweep(models[0], combinations, size, settings.sweep_folds, settings.seed)
    return tasks, {"sizes": [size], "seeds": [settings.seed], "grid": grid, "search": search,
                   "folds": settings.sweep_folds}
