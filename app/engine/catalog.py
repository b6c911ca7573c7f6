"""Loaded embedding models, by name and alias; what the HTTP layer asks for a model."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from app.config import Settings
from app.engine.base import Tokenizer
from app.engine.batcher import BatchEngine
from app.engine.llama import LlamaEmbedder, LlamaTokenizer, LlamaWeights, ModelLoadError
from app.engine.openvino import (
    OpenVinoEmbedder,
    compile_cache,
    compile_in_background,
    openvino_engine,
)
from app.errors import InvalidRequest, NotFound
from app.observability.metrics import Metrics
from app.registry.prepare import ensure_gguf, prepare_default_model
from app.registry.prepare_engine import EngineDecision, engine_for, ensure_ir
from app.registry.specs import ModelSpec, Precision, RegistryError, Unloaded, discover, survey
from app.registry.stamp import fingerprint

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class LoadedModel:
    spec: ModelSpec
    tokenizer: Tokenizer
    engine: BatchEngine
    dimensions: int
    pooling: str
    fingerprint: str
    backend: str = "llama"
    precision: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def identity(self) -> str:
        """Name, engine, precision and weights hash: what stored chunks and cached vectors are
        keyed by, so neither a model file replaced under the same name nor another engine or
        precision over the same weights ever serves vectors of the other."""
        return f"{self.spec.name}@{self.backend}-{self.precision}@{self.fingerprint[:32]}"

    @property
    def window(self) -> int:
        return self.tokenizer.window

    @property
    def max_input_tokens(self) -> int:
        """Longest input text, in tokens, that fits the window with the special tokens."""
        return self.tokenizer.window - self.tokenizer.special_tokens


class ByName(Generic[T]):
    """Items looked up by any of their names, as requests name models: no name means the only
    item, or else the configured default."""

    def __init__(self, items: list[T], names: Callable[[T], Iterable[str]], default: str) -> None:
        self._items = items
        self._by_name = {name: item for item in items for name in names(item)}
        self._default = default

    def get(self, name: str | None) -> T:
        if name is None or name == "":
            return self._default_item()
        item = self._by_name.get(name)
        if item is None:
            available = ", ".join(sorted(self._by_name))
            raise NotFound(
                f"The model '{name}' does not exist; available: {available}",
                subject="model",
                code="model_not_found",
            )
        return item

    def _default_item(self) -> T:
        if len(self._items) == 1:
            return self._items[0]
        if self._default in self._by_name:
            return self._by_name[self._default]
        raise InvalidRequest("Several models are loaded; name one in 'model'", subject="model")


class ModelCatalog:
    def __init__(self, models: list[LoadedModel], *, default: str) -> None:
        self._models = models
        self._lookup = ByName(models, lambda m: m.spec.names, default)

    def __iter__(self) -> Iterator[LoadedModel]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def get(self, name: str | None) -> LoadedModel:
        return self._lookup.get(name)

    def stop(self) -> None:
        for model in self._models:
            model.engine.stop()


def decode_layout(spec: ModelSpec, settings: Settings) -> tuple[int, int]:
    """(workers, threads per worker): by default one single-threaded context per CPU core."""
    cores = os.cpu_count() or 1
    workers = spec.workers or settings.workers or cores
    threads = spec.threads or settings.threads or max(1, cores // workers)
    return workers, threads


def _engine(
    spec: ModelSpec,
    path: Path,
    settings: Settings,
    metrics: Metrics | None,
    decision: EngineDecision,
) -> tuple[LlamaTokenizer, BatchEngine]:
    tokenizer = LlamaTokenizer(path, window=spec.context_size)
    if decision.backend == "openvino":
        layout = decode_layout(spec, settings)
        engine = openvino_engine(spec, tokenizer, settings, metrics, decision.precision, layout)
        return tokenizer, engine
    workers, threads = decode_layout(spec, settings)
    weights = LlamaWeights(path)
    embedders: list[LlamaEmbedder] = []
    try:
        for _ in range(workers):
            embedders.append(
                LlamaEmbedder(
                    weights,
                    tokenizer=tokenizer,
                    threads=threads,
                    batch_tokens=spec.batch or settings.batch_tokens,
                )
            )
    except BaseException:
        for embedder in embedders:
            embedder.close()
        weights.close()
        raise
    first = embedders[0]
    engine = BatchEngine(
        embedders=embedders,
        batch_tokens=first.batch_tokens,
        queue_size=settings.queue_size,
        queue_tokens=settings.queue_tokens,
        name=spec.name,
        max_sequences=first.max_sequences,
        release=weights.close,
        metrics=metrics,
    )
    return tokenizer, engine


def _load(
    spec: ModelSpec,
    settings: Settings,
    shared: dict[tuple[object, ...], LoadedModel],
    metrics: Metrics | None = None,
) -> LoadedModel:
    path = ensure_gguf(spec)
    decision = engine_for(spec)
    if decision.stand_in:
        log.warning(
            "%s: served with OpenVINO f32: %s (`ragprep models prepare` measures again here)",
            spec.name,
            decision.reason,
        )
    if decision.backend == "openvino" and spec.hf_dir is not None:
        ensure_ir(spec.ir, spec.hf_dir)
    # Two configs of one file (LocalAI's text-embedding-ada-002 over the default model, say)
    # share its weights, contexts and queue instead of loading it twice.
    key = (path.resolve(), decision, spec.batch, *decode_layout(spec, settings))
    twin = shared.get(key)
    if twin is not None and isinstance(twin.tokenizer, LlamaTokenizer):
        trained = twin.tokenizer.trained_window
        if min(spec.context_size or trained, trained) == twin.window:
            return dataclasses.replace(twin, spec=spec)
    try:
        tokenizer, engine = _engine(spec, path, settings, metrics, decision)
    except ModelLoadError as exc:
        raise RegistryError(
            f"model {spec.name!r}: {exc} (declared in {spec.source}); the file may be truncated "
            "or corrupt: replace it, or delete it and run `ragprep models prepare`"
        ) from exc
    engine.start()
    embedder = engine.embedders[0]
    assert isinstance(embedder, LlamaEmbedder | OpenVinoEmbedder)
    weights = spec.ir.with_suffix(".bin") if decision.backend == "openvino" else path
    log.info(
        "loaded %s from %s with %s %s (%d dims, %s pooling, %d workers x %d threads)",
        spec.name,
        weights,
        decision.backend,
        decision.precision,
        embedder.dimensions,
        embedder.pooling,
        engine.workers,
        embedder.threads,
    )
    shared.setdefault(
        key,
        model := LoadedModel(
            spec=spec,
            tokenizer=tokenizer,
            engine=engine,
            dimensions=embedder.dimensions,
            pooling=embedder.pooling,
            fingerprint=fingerprint(weights),
            backend=decision.backend,
            precision=decision.precision,
        ),
    )
    return model


def warm_up(settings: Settings) -> None:
    """Start importing OpenVINO and compiling each model prepare chose it for (layout as
    load_catalog will ask) on background threads: start-up's database steps and imports then
    overlap them. Anything unusual (a pin to re-decide, a broken config) is left to the load."""
    if settings.default_engine is not None:
        return
    try:
        specs = survey(settings.models_dir).specs
    except RegistryError:
        return
    for spec in specs:
        decision = engine_for(spec) if spec.backend == "auto" else None
        if decision is None or decision.backend != "openvino" or decision.stand_in:
            continue  # a stand-in is measured again by prepare, which may choose otherwise
        workers, threads = decode_layout(spec, settings)
        precision: Precision = "bf16" if decision.precision == "bf16" else "f32"
        compile_in_background(
            spec.ir,
            precision=precision,
            streams=workers,
            threads_per_stream=threads,
            cache_dir=compile_cache(settings),
        )


def load_catalog(settings: Settings, metrics: Metrics | None = None) -> ModelCatalog:
    """Blocking: prepare the default model, discover models/ and load every model found."""
    return _load_all(_servable_specs(settings), settings, metrics)


def _servable_specs(settings: Settings) -> list[ModelSpec]:
    """The default model prepared, then every model models/ declares (a broken one raises)."""
    if settings.prepare_default_model:
        prepare_default_model(
            settings.models_dir, settings.default_weight_type, settings.default_engine
        )
    specs = discover(settings.models_dir)
    if not specs:
        raise RegistryError(f"no embedding models found in {settings.models_dir}")
    return specs


def load_one(settings: Settings, name: str | None) -> ModelCatalog:
    """Like load_catalog, but only the model `name` (or the default) is loaded: a CLI run or a
    Ray actor embeds with one model and need not hold every other model's weights."""
    specs = _servable_specs(settings)
    spec = ByName(specs, lambda s: s.names, settings.default_model).get(name)
    return _load_all([spec], settings)


def load_survey(settings: Settings) -> tuple[ModelCatalog, list[Unloaded]]:
    """Like load_catalog, but a model that fails is reported with its reason, not raised."""
    if settings.prepare_default_model:
        prepare_default_model(
            settings.models_dir, settings.default_weight_type, settings.default_engine
        )
    found = survey(settings.models_dir)
    return _load_all(found.specs, settings, failed=found.unloaded), found.unloaded


def _load_all(
    specs: list[ModelSpec],
    settings: Settings,
    metrics: Metrics | None = None,
    *,
    failed: list[Unloaded] | None = None,
) -> ModelCatalog:
    """Every spec loaded, twins sharing one engine. A model that fails raises, or is added to
    `failed` when that is given; on a raise, the models already loaded are stopped."""
    loaded: list[LoadedModel] = []
    shared: dict[tuple[object, ...], LoadedModel] = {}
    try:
        for spec in specs:
            try:
                loaded.append(_load(spec, settings, shared, metrics))
            except RegistryError as exc:
                if failed is None:
                    raise
                failed.append(Unloaded(spec.name, spec.source, "failed", str(exc)))
    except BaseException:
        ModelCatalog(loaded, default=settings.default_model).stop()
        raise
    return ModelCatalog(loaded, default=settings.default_model)
