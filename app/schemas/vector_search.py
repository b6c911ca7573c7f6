"""POST /v1/vector_stores/{id}/search: OpenAI's request (filters, ranking options) and page."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

from app.schemas.common import RequestModel, Text

MAX_QUERIES = 16
Number = StrictInt | StrictFloat
Scalar = StrictBool | Number | Text
Query = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class ComparisonFilter(RequestModel):
    """Compare one file attribute with a value."""

    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    value: Scalar | Annotated[list[Number | Text], Field(max_length=1000)]

    @model_validator(mode="after")
    def _value_fits_type(self) -> ComparisonFilter:
        listed = isinstance(self.value, list)
        if self.type in ("in", "nin"):
            if not listed:
                raise ValueError(f"'{self.type}' compares with a list of values")
        elif listed:
            raise ValueError(f"'{self.type}' compares with one value, not a list")
        elif self.type not in ("eq", "ne") and isinstance(self.value, bool):
            raise ValueError(f"'{self.type}' orders numbers or strings, not booleans")
        return self


class CompoundFilter(RequestModel):
    """All (`and`) or any (`or`) of the filters, which may be compound themselves."""

    type: Literal["and", "or"]
    filters: Annotated[list[Filter], Field(min_length=1, max_length=64)]


Filter = Annotated[ComparisonFilter | CompoundFilter, Field(discriminator="type")]
CompoundFilter.model_rebuild()


class HybridSearch(RequestModel):
    """Weights of the dense (embedding) and lexical (BM25) rankings in the hybrid score (a
    weighted mean of their min-max-normalized scores); default 0.4 and 0.6."""

    embedding_weight: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    text_weight: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class RankingOptions(RequestModel):
    ranker: Literal["auto", "none", "default-2024-11-15"] = Field(
        default="auto",
        description="auto (and default-2024-11-15): hybrid, BM25 and dense fused; none: dense "
        "cosine only.",
    )
    score_threshold: Annotated[float, Field(ge=0, le=1)] = 0.0
    hybrid_search: HybridSearch | None = None


class SearchRequest(RequestModel):
    query: Query | Annotated[list[Query], Field(min_length=1, max_length=MAX_QUERIES)]
    max_num_results: StrictInt = Field(default=10, ge=1, le=50)
    filters: Filter | None = None
    ranking_options: RankingOptions | None = None
    rewrite_query: StrictBool = False


class SearchContent(BaseModel):
    type: Literal["text"] = "text"
    text: str


class SearchHit(BaseModel):
    file_id: str
    filename: str
    score: float
    attributes: dict[str, str | bool | int | float] | None
    content: list[SearchContent]
    # ragprep provenance of the chunk (OpenAI clients keep unknown fields).
    chunk_index: int
    start: int = Field(description="Offset in GET /v1/files/{file_id}/text, in code points.")
    end: int
    pages: list[int] | None
    headings: list[str]


class SearchPage(BaseModel):
    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[SearchHit]
    has_more: bool = False
    next_page: str | None = None
