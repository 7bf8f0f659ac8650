"""Training progress for people and for programs.

A terminal gets tqdm bars; the dashboard, which starts training in a
background process, reads the same events as JSON lines from a file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm


class Progress:
    """One model's progress: a bar over its steps (epochs, trees, stages), mirrored to a JSON-lines file."""

    def __init__(self, model_name: str, events_path: Path | None = None, show_bar: bool = True,
                 bar_line: int | None = None) -> None:
        """`bar_line`: the terminal line the bar keeps to (0: the first), for a bar drawn by another process."""
        self.model_name = model_name
        self.bar_line = bar_line
        self.events_path = events_path
        self.show_bar = show_bar
        self._bar: tqdm | None = None
        self._done = 0
        self._total = 0

    def start(self, total: int, unit: str) -> None:
        """Begin counting `total` steps called `unit`."""
        self._done, self._total = 0, total
        if self.show_bar:
            self._bar = tqdm(total=total, desc=f"{self.model_name:>4}", unit=unit, dynamic_ncols=True,
                             position=self.bar_line)
        self._emit(stage="start", unit=unit)

    def advance(self, steps: int = 1, **details: Any) -> None:
        """Count finished steps; `details` (loss, accuracy, ...) are shown beside the bar."""
        self._done += steps
        if self._bar is not None:
            self._bar.update(steps)
            if details:
                self._bar.set_postfix({k: f"{v:.4f}" if isinstance(v, float) else v for k, v in details.items()})
        self._emit(stage="step", **details)

    def note(self, message: str) -> None:
        """A stage change worth telling (evaluating, saving)."""
        if self._bar is not None:
            self._bar.set_description_str(f"{self.model_name:>4} {message}")
        self._emit(stage="note", message=message)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._emit(stage="done")

    def _emit(self, **event: Any) -> None:
        if self.events_path is None:
            return
        record = {"time": time.time(), "model": self.model_name, "done": self._done, "total": self._total, **event}
        with open(self.events_path, "a") as stream:
            stream.write(json.dumps(record) + "\n")


def read_events(events_path: Path) -> list[dict[str, Any]]:
    """Every event written so far; a line still being written is skipped."""
    if not events_path.is_file():
        return []
    events = []
    for line in events_path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events
