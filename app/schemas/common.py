"""Field types shared by the request schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


def utf8(value: str) -> str:
    # JSON may spell unpaired surrogates ("\ud800"); Python keeps them, but they have no UTF-8
    # form, so the tokenizer, SQLite and the JSON response encoder would all fail on them (500).
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text (it has an unpaired surrogate)") from exc
    return value


Text = Annotated[str, AfterValidator(utf8)]


class RequestModel(BaseModel):
    """Base of every JSON request body: an unknown field is a 400 naming it, as OpenAI answers,
    never silently ignored (a misspelt `chunk_capacty` would otherwise chunk at the default)."""

    model_config = ConfigDict(extra="forbid")
