"""A deterministic RAG workload: chunks of real text, cut by the model's own tokenizer.

The documents come from `bench_chunking.load_corpus` (Debian copyright files, the common
licenses and the test documents); each is split at a capacity drawn from CAPACITIES with a
seeded generator, so the chunk lengths spread over the range real ingestion produces.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from app.chunking.splitter import split_text
from app.engine.base import Tokenizer
from app.extract.text import is_markdown
from benchmarks.bench_chunking import load_corpus

CAPACITIES = (64, 128, 256, 384, 510)
MIN_TOKENS = 48  # shorter fragments (headings, list stubs) are not what a RAG store embeds
PER_DOCUMENT = 8  # so a few huge files (Boost's file lists) do not make up the whole workload


@dataclass(frozen=True)
class Workload:
    texts: list[str]
    tokens: list[int]  # per text, special tokens included (usage.prompt_tokens)

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)

    def head(self, count: int) -> Workload:
        return Workload(self.texts[:count], self.tokens[:count])

    def requests(self, sizes: tuple[int, int], *, seed: int) -> list[list[str]]:
        """The texts in order, cut into requests of a seeded random size within `sizes`."""
        rng, texts, requests = random.Random(seed), self.texts, []
        while texts:
            size = rng.randint(*sizes)
            requests.append(texts[:size])
            texts = texts[size:]
        return requests


def rag_chunks(
    tokenizer: Tokenizer,
    *,
    count: int,
    seed: int = 1234,
    capacities: Sequence[int] = CAPACITIES,
    megabytes: float = 3.0,
) -> Workload:
    """`count` distinct chunks of MIN_TOKENS..window tokens, in a seeded random order."""
    rng = random.Random(seed)
    limit = tokenizer.window - tokenizer.special_tokens
    seen: set[str] = set()
    chunks: list[tuple[str, int]] = []
    for name, text in load_corpus(megabytes):
        capacity = min(rng.choice(capacities), limit)
        pieces = split_text(
            text=text, model_tokenizer=tokenizer, capacity=capacity, markdown=is_markdown(name)
        )
        kept = [c for c in pieces if c.tokens >= MIN_TOKENS and c.text not in seen]
        for chunk in rng.sample(kept, min(len(kept), PER_DOCUMENT)):
            seen.add(chunk.text)
            chunks.append((chunk.text, chunk.tokens + tokenizer.special_tokens))
    if len(chunks) < count:
        raise SystemExit(f"the corpus gave {len(chunks)} chunks; ask for fewer than {count}")
    picked = rng.sample(chunks, count)
    return Workload([text for text, _ in picked], [tokens for _, tokens in picked])
