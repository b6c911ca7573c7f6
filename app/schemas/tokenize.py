"""/v1/tokenize and /v1/detokenize wire shapes: a model's own tokenizer, as TEI and llama.cpp's
server offer it, in the list-of-items shape of our other OpenAI-style responses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from app.schemas.common import RequestModel, Text


class TokenizeRequest(RequestModel):
    input: Text | list[Text] = Field(description="A string or a list of strings.")
    model: Text | None = Field(default=None, description="Model name or alias.")
    add_special_tokens: StrictBool = Field(
        default=True,
        description="Include the tokens the model adds to every sequence ([CLS] and [SEP]).",
    )


class TokenizedInput(BaseModel):
    object: Literal["tokens"] = "tokens"
    index: int
    tokens: list[int]
    fits: bool = Field(
        description="Whether /v1/embeddings takes this input whole: its tokens, special tokens "
        "included, are within the model's context_length."
    )


class TokenUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class TokenizeResponse(BaseModel):
    object: Literal["list"] = "list"
    model: str
    context_length: int
    data: list[TokenizedInput]
    usage: TokenUsage


class DetokenizeRequest(RequestModel):
    tokens: list[StrictInt] = Field(description="Token ids of the model's vocabulary.")
    model: Text | None = Field(default=None, description="Model name or alias.")


class DetokenizeResponse(BaseModel):
    object: Literal["text"] = "text"
    model: str
    text: str
