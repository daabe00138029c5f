"""The C heap of a serving process: few malloc arenas, large blocks given back.

Two glibc habits made the server's RSS grow with what it had freed, not with what it held:
- A thread that allocates while another holds the heap gets an arena of its own (up to
  eight per core), and memory freed in an arena stays with it: the API's request threads
  each grew one.
- A block freed after being mapped on its own raises the size below which blocks come
  from the heap (up to 32 MiB), so the vector index's growing buffers and a batch's large
  arrays then came from the heap, and what they left there was not given back.
Through the API, on real articles, RSS grew 8.8 KiB per stored article with the defaults,
1.5 with two arenas, 0.5 with the thresholds fixed as well (FIGURES.md, "Memory of the
live service"). Set in the process, so every way the service is started gets it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

# mallopt's parameter numbers (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8


def tune_heap(arenas: int = 2, mmap_bytes: int = 128 * 1024, trim_bytes: int = 1 << 20) -> bool:
    """Cap the malloc arenas, and fix the sizes from which a block is mapped on its own and
    past which free memory at the top of the heap is given back (fixing them turns off
    their growth); False where the C library is not glibc."""
    try:
        libc = _libc()
        settings = (
            (M_ARENA_MAX, arenas),
            (M_MMAP_THRESHOLD, mmap_bytes),
            (M_TRIM_THRESHOLD, trim_bytes),
        )
        return all(libc.mallopt(what, value) == 1 for what, value in settings)
    except (OSError, AttributeError, TypeError):
        return False


def give_back() -> bool:
    """Give the heap's wholly free pages back to the system (glibc's ``malloc_trim``). What
    a step frees in many small blocks (a window's shingles: a million blocks of 1.2 KiB)
    stays in the heap, counted in the process's RSS, while the next step's large arrays
    are mapped apart from it; False where the C library is not glibc."""
    try:
        _libc().malloc_trim(0)
        return True
    except (OSError, AttributeError, TypeError):
        return False


@cache
def _libc() -> ctypes.CDLL:
    """The C library, found once (finding it may run ``ldconfig``)."""
    return ctypes.CDLL(ctypes.util.find_library("c"))
