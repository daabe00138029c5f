"""fingerprints: content hash, word shingles and MinHash of a page's clean words.

Shingles are hashed once with CRC-32 (deterministic across processes, unlike ``hash``);
the same 32-bit values feed datasketch's MinHash and the exact containment check.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash, MinHash

SCHEME = "affine32"  # datasketch's hash scheme; stored signatures are only valid under it


def _identity(value: int) -> int:
    return value


@dataclass(frozen=True)
class Fingerprint:
    """What duplicate detection needs of one text."""

    content_hash: str
    shingles: frozenset[int]
    minhash: LeanMinHash
    words: int


def content_hash(words: Sequence[str]) -> str:
    """Hash of the normalised words: equal for texts that differ only in case, quotes,
    punctuation and spacing."""
    return hashlib.blake2b(" ".join(words).encode(), digest_size=16).hexdigest()


def shingle_hashes(words: Sequence[str], size: int) -> frozenset[int]:
    """CRC-32 of every run of ``size`` words; a text shorter than that is one shingle."""
    if not words:
        return frozenset()
    if len(words) <= size:
        return frozenset({zlib.crc32(" ".join(words).encode())})
    return frozenset(
        zlib.crc32(" ".join(words[i : i + size]).encode()) for i in range(len(words) - size + 1)
    )


def minhash_of(shingles: frozenset[int], num_perm: int, seed: int = 1) -> LeanMinHash:
    """datasketch MinHash over already-hashed shingles (the hash function is the identity)."""
    minhash = MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity, scheme=SCHEME)
    minhash.update_batch(list(shingles))
    return LeanMinHash(minhash)


def fingerprint(
    words: Sequence[str], shingle_words: int, num_perm: int, seed: int = 1
) -> Fingerprint:
    """Fingerprint of a text's words."""
    shingles = shingle_hashes(words, shingle_words)
    return Fingerprint(
        content_hash(words), shingles, minhash_of(shingles, num_perm, seed), len(words)
    )


def minhash_bytes(minhash: LeanMinHash) -> bytes:
    return np.asarray(minhash.hashvalues, dtype=np.uint32).tobytes()


def restored(
    digest: str, shingles: frozenset[int], minhash: bytes, words: int, seed: int = 1
) -> Fingerprint:
    """A fingerprint rebuilt from its stored parts, without rehashing the text."""
    values = np.frombuffer(minhash, dtype=np.uint32)
    return Fingerprint(
        digest, shingles, LeanMinHash(seed=seed, hashvalues=values, scheme=SCHEME), words
    )


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    """Shared shingles over the smaller set: 1.0 when a trimmed copy lies inside the full one."""
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small & large) / len(small)
