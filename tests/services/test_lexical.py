"""BM25 postings in memory (app/services/vector_stores/bm25.py): scores against a plain
reference implementation of the same formula, and postings kept up to date piece by piece
ranking exactly as postings built at once from the chunks that remain."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import Stemmer

from app.services.vector_stores import bm25
from app.services.vector_stores.bm25 import K1, B, Postings, merge, query_terms

TEXTS = [
    "The Seine flows through Paris, under thirty-seven bridges.",
    "Bridges cross the river; the river floods in spring.",
    "The river Thames flows through London to the sea.",
    "Paris is the capital of France.",
    "A license grants the rights to copy, modify and distribute the software.",
    "Rivers, rivers everywhere: the Loire, the Rhône, the Garonne.",
    "",
    "snake_case words split at the underscore",
]


def reference(texts: list[str], query: str) -> dict[int, float]:
    """Lucene's BM25 written out plainly over Python lists: no postings, no NumPy."""
    stem = Stemmer.Stemmer("porter").stemWord
    docs = [[stem(w) for w in _words(t)] for t in texts]
    mean = sum(map(len, docs)) / len(docs)
    scores: dict[int, float] = {}
    for term in dict.fromkeys(stem(w) for w in _words(query)):
        holding = [i for i, d in enumerate(docs) if term in d]
        idf = math.log(1 + (len(docs) - len(holding) + 0.5) / (len(holding) + 0.5))
        for i in holding:
            tf = Counter(docs[i])[term]
            norm = K1 * (1 - B + B * len(docs[i]) / mean)
            scores[i] = scores.get(i, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
    return scores


def _words(text: str) -> list[str]:
    words: list[str] = []
    word = ""
    for char in text.lower() + " ":
        if char.isalnum():
            word += char
        elif word:
            words.append(word)
            word = ""
    return words


def built(texts: list[str]) -> Postings:
    return merge(Postings.empty(), np.empty(0, np.bool_), texts)


@pytest.mark.parametrize(
    "query", ["river", "Rivers flowing through Paris", "the", "rhône", "case underscore", "x"]
)
def test_scores_are_bm25(query: str) -> None:
    expected = reference(TEXTS, query)
    found = built(TEXTS).top(query_terms(query), 100, None)
    assert {row for row, _ in found} == set(expected)
    for row, score in found:
        assert score == pytest.approx(expected[row], rel=1e-5)
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)


def test_best_k_and_the_mask() -> None:
    postings = built(TEXTS)
    everything = postings.top(["the"], 100, None)
    assert postings.top(["the"], 2, None) == everything[:2]
    mask = np.zeros(len(TEXTS), np.bool_)
    mask[[1, 5]] = True
    terms = query_terms("river")
    unmasked = [hit for hit in postings.top(terms, 100, None) if hit[0] in (1, 5)]
    assert len(unmasked) == 2
    assert postings.top(terms, 100, mask) == unmasked


def test_unknown_and_later_terms_find_nothing() -> None:
    old = built(TEXTS[:2])
    newer = merge(old, np.ones(2, np.bool_), ["zebras graze"])  # shares old's vocabulary
    assert old.top(query_terms("zebra"), 10, None) == []
    assert [row for row, _ in newer.top(query_terms("zebra"), 10, None)] == [2]
    assert old.top(["never-seen"], 10, None) == []


@pytest.mark.parametrize("texts_at_once", [4096, 2])
def test_postings_kept_up_to_date_rank_as_if_built_at_once(
    texts_at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bm25, "_SLICE", texts_at_once)  # analysed in one piece, or in several
    rng = np.random.default_rng(7)
    alive: list[str] = []
    postings = Postings.empty()
    for step in range(8):
        keep = rng.random(len(alive)) < 0.7
        # Some steps only remove (a file taken out), some only add.
        count = 0 if step % 3 == 2 else 3
        added = [TEXTS[i] + f" step{step}" for i in rng.integers(0, len(TEXTS), count)]
        if step % 3 == 1:
            keep[:] = True
        postings = merge(postings, keep, added)
        alive = [t for t, k in zip(alive, keep, strict=True) if k] + added
        fresh = built(alive)
        for query in ["river paris", "the bridges", "step3 license", "underscore"]:
            terms = query_terms(query)
            here, there = postings.top(terms, 100, None), fresh.top(terms, 100, None)
            assert [r for r, _ in here] == [r for r, _ in there]
            assert np.allclose([s for _, s in here], [s for _, s in there], rtol=1e-6)
    assert postings.nbytes > 0
