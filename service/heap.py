"""The C heap of a serving process: few malloc arenas.

glibc gives a thread that allocates while another holds the heap an arena of its own, up to
eight per core, and memory freed in an arena stays with it. The API's request threads each
grew one, and the server's RSS kept rising with what they had freed (8.8 KiB per stored
article through the API, against 5.2 KiB with two arenas: FIGURES.md, "Memory of the live
service"). Setting it in the process covers every way the service is started, where an
environment variable (``MALLOC_ARENA_MAX``) would have to be set by each.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)


def limit_arenas(count: int = 2) -> bool:
    """Cap the malloc arenas of this process; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError, TypeError):
        return False
