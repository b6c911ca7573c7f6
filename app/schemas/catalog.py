"""OpenAI model list shapes, with the embedding facts clients need to size their inputs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    dimensions: int
    context_length: int
    pooling: str
    aliases: list[str]


class ModelCardList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
