"""The heap settings and the giving back of free pages reach glibc where it is the C library."""

from __future__ import annotations

import platform

import pytest

from service.heap import give_back, tune_heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the C library is not glibc")
def test_glibc_takes_the_heap_settings_and_gives_free_pages_back() -> None:
    assert tune_heap() is True
    held = [bytes(1200) for _ in range(10_000)]  # small blocks, from the heap
    del held
    assert give_back() is True
