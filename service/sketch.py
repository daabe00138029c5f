"""A page's sketch: what furniture learning and copy detection need of it, as compact arrays.

Per block: the hash of its normalised words (its key), its word count, whether an in-page
flag keeps it out, and its 5-word shingles. A page's fingerprint under any choice of kept
blocks is computed from the sketch alone (shingles do not cross block boundaries), so the
reindex can re-fingerprint a stored page when the furniture it knows changes, without the
page's text. Sketches are what the store keeps per article (a few KiB).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np

from index.sorted_sets import unique_sorted
from service.text import Block, key_hash

SCHEME = "affine32"  # datasketch's permutation scheme; signatures are only valid under it
_MAX32 = np.uint32(0xFFFFFFFF)


def block_shingles(words: Sequence[str], size: int) -> np.ndarray:
    """CRC-32 of every run of ``size`` words of one block (sorted, unique); a block shorter
    than that is one shingle."""
    if not words:
        return np.zeros(0, dtype=np.uint32)
    if len(words) <= size:
        runs = [" ".join(words)]
    else:
        runs = [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
    return unique_sorted(np.fromiter((zlib.crc32(r.encode()) for r in runs), np.uint32, len(runs)))


class Sketch:
    """Block keys, sizes, in-page drops and shingles of one page.

    Held as one bytes object, each array a read-only view made when asked: a window of a
    million stored sketches held as seven arrays a page was 0.8 KiB a page of array headers
    beside their data (``FIGURES.md``). The layout (count, keys, bounds, heads, sizes,
    shingles, in-page and list marks) keeps every array aligned; ``to_bytes`` and
    ``from_bytes`` speak the store's layout."""

    __slots__ = ("_blob", "_n", "_s")

    def __init__(
        self,
        keys: np.ndarray,  # int64 per block
        heads: np.ndarray,  # uint32 per block: its first shingle (how a list entry is seen
        # to start with a headline)
        sizes: np.ndarray,  # int32 words per block
        inpage: np.ndarray,  # bool per block: kept out by an in-page flag
        listed: np.ndarray,  # bool per block: an entry of a list (the line had a list marker)
        shingles: np.ndarray,  # uint32, each block's shingles one after another
        bounds: np.ndarray,  # int64, len(blocks) + 1 offsets into ``shingles``
    ) -> None:
        n = len(keys)
        if not (len(heads) == len(sizes) == len(inpage) == len(listed) == n == len(bounds) - 1):
            raise ValueError("a sketch's per-block arrays must have one entry per block")
        if int(bounds[-1]) != len(shingles):
            raise ValueError("a sketch's last shingle offset must be its number of shingles")
        self._n, self._s = n, len(shingles)
        self._blob = b"".join(
            (
                np.array([n], dtype=np.int64).tobytes(),
                np.asarray(keys, dtype=np.int64).tobytes(),
                np.asarray(bounds, dtype=np.int64).tobytes(),
                np.asarray(heads, dtype=np.uint32).tobytes(),
                np.asarray(sizes, dtype=np.int32).tobytes(),
                np.asarray(shingles, dtype=np.uint32).tobytes(),
                np.asarray(inpage, dtype=bool).tobytes(),
                np.asarray(listed, dtype=bool).tobytes(),
            )
        )

    @property
    def keys(self) -> np.ndarray:
        return np.frombuffer(self._blob, np.int64, self._n, 8)

    @property
    def bounds(self) -> np.ndarray:
        return np.frombuffer(self._blob, np.int64, self._n + 1, 8 + 8 * self._n)

    @property
    def heads(self) -> np.ndarray:
        return np.frombuffer(self._blob, np.uint32, self._n, 16 + 16 * self._n)

    @property
    def sizes(self) -> np.ndarray:
        return np.frombuffer(self._blob, np.int32, self._n, 16 + 20 * self._n)

    @property
    def shingles(self) -> np.ndarray:
        return np.frombuffer(self._blob, np.uint32, self._s, 16 + 24 * self._n)

    @property
    def inpage(self) -> np.ndarray:
        return np.frombuffer(self._blob, bool, self._n, 16 + 24 * self._n + 4 * self._s)

    @property
    def listed(self) -> np.ndarray:
        return np.frombuffer(self._blob, bool, self._n, 16 + 25 * self._n + 4 * self._s)

    def __len__(self) -> int:
        return self._n

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        return type(self)._held, (self._blob,)

    @classmethod
    def _held(cls, blob: bytes) -> Self:
        """A sketch from bytes in its own layout (``from_bytes`` rearranges the store's)."""
        sketch = cls.__new__(cls)
        n = int(np.frombuffer(blob, np.int64, 1)[0])
        sketch._blob, sketch._n = blob, n
        sketch._s = int(np.frombuffer(blob, np.int64, 1, 8 + 16 * n)[0])
        return sketch

    def kept(self, furniture: np.ndarray | None = None) -> np.ndarray:
        """Mask of the blocks left to compare: not flagged in the page, not furniture."""
        return ~self.inpage if furniture is None else ~(self.inpage | furniture)

    def kept_shingles(self, kept: np.ndarray) -> np.ndarray:
        """The kept blocks' shingles as stored, block after block (repeats left in): one
        mask over the shingle array, no step per block."""
        bounds = self.bounds
        return self.shingles[kept.repeat(bounds[1:] - bounds[:-1])]

    def shingle_set(self, kept: np.ndarray) -> np.ndarray:
        """The page's shingles over the kept blocks, sorted and unique."""
        chosen = self.kept_shingles(kept)
        return unique_sorted(chosen) if len(chosen) else np.zeros(0, dtype=np.uint32)

    def content_hash(self, kept: np.ndarray) -> str:
        """Equal for pages whose kept blocks have the same words in the same order."""
        return hashlib.blake2b(self.keys[kept].tobytes(), digest_size=16).hexdigest()

    def words(self, kept: np.ndarray) -> int:
        return int(self.sizes[kept].sum())

    @classmethod
    def single(cls, shingles: np.ndarray, words: int, key: int = 0) -> Sketch:
        """A page known only by its shingles: one block (whose key is ``key``) holding them
        all."""
        return cls(
            keys=np.array([key], dtype=np.int64),
            heads=np.zeros(1, dtype=np.uint32),
            sizes=np.array([words], dtype=np.int32),
            inpage=np.zeros(1, dtype=bool),
            listed=np.zeros(1, dtype=bool),
            shingles=shingles.astype(np.uint32),
            bounds=np.array([0, len(shingles)], dtype=np.int64),
        )

    def outline(self) -> Outline:
        """This sketch without its shingles: what is read of a page once its copies are
        known (its blocks' keys, sizes and marks); the shingles are most of a sketch."""
        n = self._n
        return Outline._held(
            b"".join(
                (
                    self._blob[: 8 + 8 * n],  # count, keys
                    bytes(8 * (n + 1)),  # bounds: no shingles
                    self._blob[16 + 16 * n : 16 + 24 * n],  # heads, sizes
                    self._blob[16 + 24 * n + 4 * self._s :],  # in-page and list marks
                )
            )
        )

    def to_bytes(self) -> bytes:
        """keys, heads, sizes, marks (in-page drop, list entry) and shingle offsets,
        then shingles: the store's layout."""
        marks = self.inpage.astype(np.uint8) | (self.listed.astype(np.uint8) << 1)
        n = self._blob[:8]
        return b"".join(
            (
                n,
                self.keys.tobytes(),
                self.heads.tobytes(),
                self.sizes.tobytes(),
                marks.tobytes(),
                self.bounds.tobytes(),
                self.shingles.tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, blob: bytes) -> Sketch:
        """A sketch from the store's layout, rearranged into this one in one pass."""
        n = int(np.frombuffer(blob, np.int64, 1)[0])
        marks = np.frombuffer(blob, np.uint8, n, 8 + 16 * n)
        at = 8 + 17 * n  # the bounds
        s = int(np.frombuffer(blob, np.int64, 1, at + 8 * n)[0])
        return cls._held(
            b"".join(
                (
                    blob[: 8 + 8 * n],  # count, keys
                    blob[at : at + 8 * (n + 1)],  # bounds
                    blob[8 + 8 * n : 8 + 16 * n],  # heads, sizes
                    blob[at + 8 * (n + 1) : at + 8 * (n + 1) + 4 * s],  # shingles
                    (marks & 1).tobytes(),  # in-page drops as bools
                    (marks >> 1 & 1).tobytes(),  # list entries as bools
                )
            )
        )


class Outline(Sketch):
    """A sketch whose shingles were let go (``Sketch.outline``). Asking for them is an
    error, not an empty answer: a copy test or a stored sketch made from an outline would
    be wrong without a sign."""

    __slots__ = ()

    @property
    def shingles(self) -> np.ndarray:
        raise ValueError("an outline of a sketch holds no shingles")


def head_shingle(words: Sequence[str], size: int) -> int:
    """The first shingle of a block (the whole block when shorter)."""
    return zlib.crc32(" ".join(words[:size]).encode()) if words else 0


def sketch_of(blocks: Sequence[Block], dropped: frozenset[int], shingle_words: int) -> Sketch:
    """The sketch of a prepared page's blocks."""
    per_block = [block_shingles(b.words, shingle_words) for b in blocks]
    bounds = np.zeros(len(blocks) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in per_block], out=bounds[1:])
    return Sketch(
        keys=np.array([key_hash(b.key) for b in blocks], dtype=np.int64),
        heads=np.array([head_shingle(b.words, shingle_words) for b in blocks], dtype=np.uint32),
        sizes=np.array([len(b.words) for b in blocks], dtype=np.int32),
        inpage=np.array([b.index in dropped for b in blocks], dtype=bool),
        listed=np.array([b.listed for b in blocks], dtype=bool),
        shingles=(
            np.concatenate(per_block).astype(np.uint32)
            if per_block
            else np.zeros(0, dtype=np.uint32)
        ),
        bounds=bounds,
    )


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch pre-mixes inputs under affine32."""
    h = values.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


class MinHasher:
    """datasketch's affine32 MinHash over already-hashed shingles, vectorised over a whole
    set at once (bit-for-bit the same signatures as ``MinHash.update_batch``)."""

    def __init__(self, num_perm: int, seed: int = 1) -> None:
        gen = np.random.RandomState(seed)
        self._a = (gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + 1)[:, None]
        self._b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)[:, None]
        self.num_perm = num_perm

    def __call__(self, shingles: np.ndarray) -> np.ndarray:
        if len(shingles) == 0:
            return np.full(self.num_perm, _MAX32, dtype=np.uint32)
        out = np.full(self.num_perm, _MAX32, dtype=np.uint32)
        mixed = _fmix32(shingles)
        for start in range(0, len(mixed), 2048):
            block = self._a * mixed[None, start : start + 2048] + self._b
            np.minimum(out, block.min(axis=1), out=out)
        return out


# a fingerprint array not held: its band keys stand for a stored minhash, its sketch for
# a stored shingle set, and a placement needs neither
NOT_HELD = np.zeros(0, dtype=np.uint32)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What copy detection needs of a page's kept text."""

    content_hash: str
    shingles: np.ndarray  # sorted unique uint32
    minhash: np.ndarray  # uint32 per permutation (empty for a stored one: the batch holds
    # its band keys instead, ``pipeline.Known``)
    words: int
    # the shingle set's size where the set is not held (``shingles`` empty): a stored
    # page's, whose set the batch copy step makes from its sketch when it needs it
    count: int | None = None

    def shingle_count(self) -> int:
        return len(self.shingles) if self.count is None else self.count


def fingerprint(sketch: Sketch, kept: np.ndarray, minhasher: MinHasher) -> Fingerprint:
    shingles = sketch.shingle_set(kept)
    return Fingerprint(sketch.content_hash(kept), shingles, minhasher(shingles), sketch.words(kept))
