"""How a long-running process of the ledger asks glibc to keep its heap compact.

glibc gives each thread that allocates a malloc arena of its own, up to eight per core, and
an arena keeps the pages it once used. The projector runs its projections on threads and
frees large buffers (pages of the log, query results) all the time: on the scale benchmark
(2026-12-07) its resident memory grew past 1.4 GB at 800,000 events while the Python objects
it held came to about a tenth of that, most of the rest in eighteen 64 MB thread arenas. Two
arenas keep the threads from contending much and the heap from spreading.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("ledger.process_memory")

MALLOC_ARENAS = 2  # glibc's M_ARENA_MAX for every ledger process (glibc's default: 8 a core)
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas; call before the process starts its threads. False where
    the C library is not glibc (nothing changes there)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        done = bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        done = False
    if not done:
        log.debug("malloc arenas left as the C library sets them")
    return done
