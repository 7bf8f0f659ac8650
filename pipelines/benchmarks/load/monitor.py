"""CPU and memory of the server and of the load generator, kept apart.

The server is its process and every child, sampled with psutil; the generator is this process (every simulated
tab runs in its one event loop). The machine's total tells how much else was running: the cores are shared.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

import psutil

from pipelines.benchmarks.load.settings import MEASURE, MeasureSettings

MEGABYTE = 1e6
CORES = os.cpu_count() or 1


@dataclass
class Usage:
    """CPU seconds and resident memory of one process tree over a window of wall time."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    rss_samples: list[int] = field(default_factory=list)
    cpu_samples: list[float] = field(default_factory=list)  # percent of all cores over each sampling interval

    @property
    def cpu_percent(self) -> float:
        """Percent of all the machine's cores (100 % = every core busy)."""
        return 100 * self.cpu_seconds / (self.wall_seconds * CORES) if self.wall_seconds else 0.0

    @property
    def peak_cpu_percent(self) -> float:
        return max(self.cpu_samples, default=0.0)

    @property
    def peak_rss_mb(self) -> float:
        return max(self.rss_samples, default=0) / MEGABYTE

    @property
    def mean_rss_mb(self) -> float:
        return sum(self.rss_samples) / len(self.rss_samples) / MEGABYTE if self.rss_samples else 0.0


class ProcessTree:
    """A process and (unless told not to) its children: their CPU seconds and resident memory, children found
    afresh each time. Once the process has exited its last readings are kept, so a server that dies mid-run still
    has figures.
    """

    def __init__(self, pid: int, children: bool = True) -> None:
        self.root = psutil.Process(pid)
        self.children = children
        self._last_cpu_seconds = 0.0

    def members(self) -> list[psutil.Process]:
        try:
            return [self.root, *(self.root.children(recursive=True) if self.children else [])]
        except psutil.Error:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.members():
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                continue
        self._last_cpu_seconds = max(self._last_cpu_seconds, total)
        return self._last_cpu_seconds

    def rss(self) -> int | None:
        """Resident bytes of the tree; None once the process has gone."""
        members = self.members()
        total = 0
        for process in members:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total if members and total else None


class Monitor:
    """Samples the server tree, the generator and the whole machine; `begin` and `end` bound the measured window."""

    def __init__(self, server_pid: int | None, settings: MeasureSettings = MEASURE) -> None:
        self.server = ProcessTree(server_pid) if server_pid is not None else None
        self.generator = ProcessTree(os.getpid(), children=False)  # the server may be its child
        self.settings = settings
        self.server_usage = Usage() if self.server is not None else None
        self.generator_usage = Usage()
        self.machine_busy_percent = 0.0
        self.last_server_rss = 0
        self.last_server_cpu_percent = 0.0
        self._measuring = False
        self._started: tuple[float, float, float] | None = None
        self._previous_sample: tuple[float, float] | None = None  # (loop time, server CPU seconds)
        self._stopped = asyncio.Event()

    def begin(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        server_cpu = self.server.cpu_seconds() if self.server is not None else 0.0
        psutil.cpu_percent(interval=None)  # the machine's busy share is counted from here
        self._started = (loop_time, server_cpu, self.generator.cpu_seconds())
        self._measuring = True

    def end(self) -> None:
        if self._started is None:
            return
        started_at, server_cpu, generator_cpu = self._started
        wall = asyncio.get_running_loop().time() - started_at
        if self.server is not None and self.server_usage is not None:
            self.server_usage.wall_seconds = wall
            self.server_usage.cpu_seconds = self.server.cpu_seconds() - server_cpu
        self.generator_usage.wall_seconds = wall
        self.generator_usage.cpu_seconds = self.generator.cpu_seconds() - generator_cpu
        self.machine_busy_percent = psutil.cpu_percent(interval=None)
        self._measuring = False

    async def sample_until_stopped(self) -> None:
        """Every `sample_seconds`: the server's CPU share and memory, and the generator's memory."""
        loop = asyncio.get_running_loop()
        while not self._stopped.is_set():
            server_rss = self.server.rss() if self.server is not None else None
            if self.server is not None and server_rss is not None:
                self.last_server_rss = server_rss
                self._sample_server_cpu(loop.time())
            if self._measuring:
                if self.server_usage is not None and server_rss is not None:
                    self.server_usage.rss_samples.append(server_rss)
                    self.server_usage.cpu_samples.append(self.last_server_cpu_percent)
                self.generator_usage.rss_samples.append(self.generator.rss() or 0)
            try:
                await asyncio.wait_for(self._stopped.wait(), self.settings.sample_seconds)
            except asyncio.TimeoutError:
                pass

    def stop(self) -> None:
        self._stopped.set()

    def _sample_server_cpu(self, now: float) -> None:
        assert self.server is not None
        cpu = self.server.cpu_seconds()
        if self._previous_sample is not None and now > self._previous_sample[0]:
            then, cpu_then = self._previous_sample
            self.last_server_cpu_percent = 100 * (cpu - cpu_then) / ((now - then) * CORES)
        self._previous_sample = (now, cpu)
