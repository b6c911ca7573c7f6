"""/v1/models: the loaded embedding models (OpenAI list shape plus embedding facts)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CatalogDep
from app.engine.catalog import LoadedModel
from app.schemas.catalog import ModelCard, ModelCardList
from app.schemas.errors import error_responses

router = APIRouter(prefix="/v1/models", tags=["models"])


def card(model: LoadedModel) -> ModelCard:
    return ModelCard(
        id=model.name,
        created=model.spec.created,
        owned_by=model.spec.owned_by,
        dimensions=model.dimensions,
        context_length=model.window,
        pooling=model.pooling,
        aliases=list(model.spec.aliases),
    )


@router.get("", response_model=ModelCardList)
async def list_models(catalog: CatalogDep) -> ModelCardList:
    return ModelCardList(data=[card(model) for model in catalog])


@router.get("/{model_id:path}", response_model=ModelCard, responses=error_responses(404))
async def retrieve_model(model_id: str, catalog: CatalogDep) -> ModelCard:
    return card(catalog.get(model_id))
