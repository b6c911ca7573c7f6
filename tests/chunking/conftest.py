"""Fixtures shared by the chunking tests (the real `model_tokenizer` is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from app.engine.base import Tokenizer
from app.engine.tiktoken_tokenizer import TiktokenTokenizer


@pytest.fixture(scope="session")
def cl100k() -> Tokenizer:
    """OpenAI's tokenizer, as clients that budget chunks in cl100k tokens use it for sizing."""
    return TiktokenTokenizer(window=8192)
