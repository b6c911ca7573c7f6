"""BM25 over one store's chunks, in memory: for each term, the chunks holding it and how often
(a posting list), read only for the query's terms. Blocking NumPy work: run it in a thread.

Why not the database's own full-text search: SQLite's FTS5 scores every chunk matching any
query word before it sorts, which at 100k chunks took 70-230 ms a query (p50-p95, measured by
benchmarks/bench_lexical.py); a common word's whole posting list scored at once in NumPy takes
a millisecond. PostgreSQL's ts_rank_cd is not BM25 at all (no term rarity, no length
normalisation). One index here gives both databases the same ranking.

Scoring is Lucene's BM25: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), k1 = 1.2, b = 0.75, over
the store's chunks (N, df and the mean length are the store's own). Terms are Unicode words,
lower-cased, Porter-stemmed (the Porter stemmer FTS5's 'porter' tokenizer also used).
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import Stemmer

K1 = 1.2
B = 0.75
MAX_QUERY_TERMS = 64
_WORDS = re.compile(r"[^\W_]+|\x00")  # \x00 separates chunks in one pass over many
_SEPARATOR = "\x00"
_SLICE = 4096  # texts analysed at once (see _entries)
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """One per thread: a PyStemmer object is not safe to share between threads."""
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("porter")
    return stemmer


def query_terms(query: str) -> list[str]:
    """The query's terms, each once, at most MAX_QUERY_TERMS."""
    words = _WORDS.findall(query.lower().replace(_SEPARATOR, " "))
    return list(dict.fromkeys(_stemmer().stemWords(words)))[:MAX_QUERY_TERMS]


@dataclass(frozen=True)
class Postings:
    """Term-major (CSC) postings of a store's chunks, one row per chunk.

    The vocabulary (term -> id) only grows and is shared by a store's successive Postings: a
    term newer than this Postings has an id past `starts` and is not in it."""

    vocabulary: dict[str, int]
    starts: npt.NDArray[np.int64]  # term id -> its postings are [starts[t], starts[t + 1])
    rows: npt.NDArray[np.int32]  # chunk rows holding the term, ascending per term
    counts: npt.NDArray[np.float32]  # how often the term occurs in that chunk
    lengths: npt.NDArray[np.float32]  # terms per chunk
    norms: npt.NDArray[np.float32]  # K1 * (1 - B + B * length / mean length), per chunk

    @classmethod
    def empty(cls) -> Postings:
        f32 = np.empty(0, np.float32)
        return cls({}, np.zeros(1, np.int64), np.empty(0, np.int32), f32, f32, f32)

    @property
    def nbytes(self) -> int:
        arrays = (self.starts, self.rows, self.counts, self.lengths, self.norms)
        return sum(a.nbytes for a in arrays)

    def top(
        self, terms: list[str], k: int, mask: npt.NDArray[np.bool_] | None
    ) -> list[tuple[int, float]]:
        """The best `k` (row, BM25 score) holding any of the terms, among the rows the mask
        lets through (all when None); best first, ties by row."""
        chunks = len(self.lengths)
        scores = np.zeros(chunks, np.float32)
        for term in terms:
            term_id = self.vocabulary.get(term, len(self.starts))
            if term_id >= len(self.starts) - 1:
                continue
            low, high = int(self.starts[term_id]), int(self.starts[term_id + 1])
            if low == high:
                continue
            rows, counts = self.rows[low:high], self.counts[low:high]
            idf = math.log(1 + (chunks - (high - low) + 0.5) / (high - low + 0.5))
            # Rows are unique within a term's postings, so += adds once per chunk.
            scores[rows] += idf * counts * (K1 + 1) / (counts + self.norms[rows])
        if mask is not None:
            scores[~mask] = 0
        found = np.flatnonzero(scores > 0)
        if len(found) > k:
            found = found[np.argpartition(-scores[found], k - 1)[:k]]
        found = found[np.lexsort((found, -scores[found]))]
        return [(int(row), float(scores[row])) for row in found]


def analyze(texts: list[str], vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Term ids of each text, concatenated, and the number of terms per text. New terms are
    added to the vocabulary. One regular-expression pass over all texts, each distinct word
    stemmed once: ~8x faster than word by word."""
    if not texts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    found = _WORDS.findall(
        _SEPARATOR.join(t.replace(_SEPARATOR, " ") for t in texts).lower() + _SEPARATOR
    )
    distinct = list(set(found) - {_SEPARATOR})
    lookup = {_SEPARATOR: -1}
    for word, stem in zip(distinct, _stemmer().stemWords(distinct), strict=True):
        lookup[word] = vocabulary.setdefault(stem, len(vocabulary))
    ids = np.fromiter(map(lookup.__getitem__, found), np.int64, len(found))
    ends = np.flatnonzero(ids < 0)
    lengths = np.diff(ends, prepend=-1) - 1
    return ids[ids >= 0], lengths


def merge(old: Postings, keep: npt.NDArray[np.bool_], texts: list[str]) -> Postings:
    """The old postings without the rows `keep` drops, then one row per new text (in order).
    Linear in the postings (no sort of them): a file added to a 100k-chunk store costs a
    copy of its arrays, not a rebuild."""
    return _with_texts(_without(old, keep), texts)


def _without(old: Postings, keep: npt.NDArray[np.bool_]) -> Postings:
    """The rows `keep` drops taken out, the others renumbered (order, so term-major, kept)."""
    if keep.all():
        return old
    still = keep[old.rows]
    renumber = (np.cumsum(keep) - 1).astype(np.int32)
    terms = np.repeat(np.arange(len(old.starts) - 1), np.diff(old.starts))[still]
    per_term = np.bincount(terms, minlength=len(old.starts) - 1)
    lengths = old.lengths[keep]
    return replace(
        old,
        starts=np.concatenate([[0], np.cumsum(per_term)]).astype(np.int64),
        rows=renumber[old.rows[still]],
        counts=old.counts[still],
        lengths=lengths,
        norms=_norms(lengths),
    )


def _with_texts(base: Postings, texts: list[str]) -> Postings:
    """One row per text appended; each new entry inserted at the end of its term's postings
    (its row is past every old one), so the arrays stay term-major with rows ascending."""
    if not texts:
        return base
    terms, rows, counts, lengths = _entries(texts, base.vocabulary, len(base.lengths))
    known = len(base.starts) - 1  # terms the base has postings arrays for
    at = base.starts[np.minimum(terms + 1, known)]  # a term new to the base: at the end
    per_term = np.bincount(terms, minlength=len(base.vocabulary))
    per_term[:known] += np.diff(base.starts)
    chunk_lengths = np.concatenate([base.lengths, lengths])
    return Postings(
        vocabulary=base.vocabulary,
        starts=np.concatenate([[0], np.cumsum(per_term)]).astype(np.int64),
        rows=np.insert(base.rows, at, rows),
        counts=np.insert(base.counts, at, counts),
        lengths=chunk_lengths,
        norms=_norms(chunk_lengths),
    )


Int32s = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float32]


def _entries(
    texts: list[str], vocabulary: dict[str, int], first_row: int
) -> tuple[Int32s, Int32s, Floats, Floats]:
    """(term, row, count) of the texts (rows from first_row), sorted by term then row, and
    each text's length in terms. Analysed _SLICE texts at a time: the word list holds a
    Python string per word (measured: 14 GB peak for a million chunks analysed at once)."""
    parts = []
    lengths = []
    for start in range(0, len(texts), _SLICE):
        ids, part_lengths = analyze(texts[start : start + _SLICE], vocabulary)
        size = len(part_lengths)
        rows = np.repeat(np.arange(size, dtype=np.int64), part_lengths)
        # Sorting by (term, row) also counts a term's repeats within a chunk.
        keys, counts = np.unique(ids * size + rows, return_counts=True)
        terms, local = np.divmod(keys, size)
        parts.append((terms.astype(np.int32), (local + first_row + start).astype(np.int32), counts))
        lengths.append(part_lengths.astype(np.float32))
    all_terms: Int32s = np.concatenate([p[0] for p in parts])
    all_rows: Int32s = np.concatenate([p[1] for p in parts])
    all_counts: Floats = np.concatenate([p[2] for p in parts]).astype(np.float32)
    if len(parts) > 1:  # runs sorted by term, rows ascending from run to run: merged stably
        order = np.argsort(all_terms, kind="stable")
        all_terms, all_rows, all_counts = all_terms[order], all_rows[order], all_counts[order]
    all_lengths: Floats = np.concatenate(lengths)
    return all_terms, all_rows, all_counts, all_lengths


def _norms(lengths: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    mean = float(lengths.mean()) if len(lengths) else 1.0
    return (K1 * (1 - B + B * lengths / max(mean, 1e-9))).astype(np.float32)
