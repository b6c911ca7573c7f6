"""OpenAI embeddings wire shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr, field_validator

from app.schemas.common import RequestModel, Text, utf8

EmbeddingInput = StrictStr | list[StrictStr] | list[StrictInt] | list[list[StrictInt]]


class EmbeddingRequest(RequestModel):
    input: EmbeddingInput = Field(
        description="A string, a list of strings, a list of token ids or a list of id lists."
    )
    model: Text | None = Field(default=None, description="Model name or alias.")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: StrictInt | None = Field(
        default=None, ge=1, description="Truncate and re-normalize."
    )
    user: Text | None = None
    truncate: StrictBool = Field(
        default=False, description="Cut inputs longer than the model window instead of a 400."
    )

    @field_validator("input")
    @classmethod
    def _utf8_texts(cls, value: EmbeddingInput) -> EmbeddingInput:
        # Checked after the union picked its branch, so its errors keep their plain location.
        for item in [value] if isinstance(value, str) else value:
            if isinstance(item, str):
                utf8(item)
        return value


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class PromptTokensDetails(BaseModel):
    cached_tokens: int = Field(description="Tokens of inputs served from the embedding cache.")


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None

    @classmethod
    def of(cls, tokens: int, cached: int) -> Usage:
        details = PromptTokensDetails(cached_tokens=cached)
        return cls(prompt_tokens=tokens, total_tokens=tokens, prompt_tokens_details=details)


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: Usage
