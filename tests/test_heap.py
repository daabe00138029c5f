"""The serving process's heap settings take (glibc only)."""

from __future__ import annotations

import platform

import pytest

from service.heap import tune_heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_heap_settings_are_accepted() -> None:
    assert tune_heap()
    assert not tune_heap(mmap_bytes=1 << 30)  # past what glibc takes: reported, not ignored
