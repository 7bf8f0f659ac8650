"""Giving back memory the models' loading freed, so the dashboard's footprint is what it holds, not what it once
needed."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)


def release_freed_memory() -> None:
    """Return the free pages at the top of glibc's heaps to the system (`malloc_trim`).

    Reading the forest's compressed file passes through large temporary buffers; freed, they stay in the process
    until trimmed (about 100 MB here). Elsewhere than glibc this does nothing.
    """
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        logger.debug("no malloc_trim in this C library: nothing to release")
        return
    trim(0)
