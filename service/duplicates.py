"""Duplicate groups: copies of one text, found by exact hash or MinHash-LSH candidates
confirmed by shingle containment, so that a trimmed copy joins the full one."""

from __future__ import annotations

from dataclasses import dataclass

from datasketch import MinHashLSH

from service.fingerprint import Fingerprint, containment


@dataclass(frozen=True)
class DuplicateMatch:
    """The group a text joined and how much of the smaller text the two share."""

    group: int
    member: int
    similarity: float


class DuplicateIndex:
    """Fingerprints of the texts seen so far, by member key, each tagged with its group."""

    def __init__(
        self, *, num_perm: int, lsh_jaccard: float, containment: float, min_shingles: int
    ) -> None:
        self._lsh = MinHashLSH(threshold=lsh_jaccard, num_perm=num_perm)
        self._by_hash: dict[str, int] = {}
        self._hash_of: dict[int, str] = {}
        self._shingles: dict[int, frozenset[int]] = {}
        self._group: dict[int, int] = {}
        self._containment = containment
        self._min_shingles = min_shingles

    def __len__(self) -> int:
        return len(self._group)

    def __contains__(self, member: object) -> bool:
        return member in self._group

    def match(self, fp: Fingerprint) -> DuplicateMatch | None:
        """The best existing copy of ``fp``, or None when it is a new text."""
        if fp.words == 0:
            return None
        exact = self._by_hash.get(fp.content_hash)
        if exact is not None:
            return DuplicateMatch(self._group[exact], exact, 1.0)
        best: DuplicateMatch | None = None
        for member in self._lsh.query(fp.minhash):
            other = self._shingles[member]
            if min(len(other), len(fp.shingles)) < self._min_shingles:
                continue
            score = containment(fp.shingles, other)
            if score >= self._containment and (
                best is None or (score, -member) > (best.similarity, -best.member)
            ):
                best = DuplicateMatch(self._group[member], member, score)
        return best

    def add(self, member: int, group: int, fp: Fingerprint) -> None:
        """Record ``fp`` as member ``member`` of ``group``; an empty text is never matched."""
        self._group[member] = group
        if fp.words == 0:
            return
        self._by_hash.setdefault(fp.content_hash, member)
        self._hash_of[member] = fp.content_hash
        self._shingles[member] = fp.shingles
        self._lsh.insert(member, fp.minhash)

    def remove(self, member: int) -> None:
        """Forget a member; its group lives on in its other members."""
        self._group.pop(member, None)
        if self._shingles.pop(member, None) is not None:
            self._lsh.remove(member)
        digest = self._hash_of.pop(member, None)
        if digest is not None and self._by_hash.get(digest) == member:
            del self._by_hash[digest]
