"""`ragprep models ...`: prepare the default model, convert HF folders, list what would load."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from app.config import Settings
from app.registry.specs import OUTTYPES, RegistryError

log = logging.getLogger("ragprep")


def _prepare(args: argparse.Namespace, settings: Settings) -> int:
    from app.registry.prepare import prepare_default

    prepared = prepare_default(
        settings.models_dir,
        weight_type=settings.default_weight_type,
        engine=settings.default_engine,
    )
    state = "built" if prepared.built else "already built"
    print(f"default model {state}: {prepared.path} ({prepared.weight_type}: {prepared.reason})")
    if prepared.engine is not None:
        engine = prepared.engine
        print(f"served with {engine.backend} {engine.precision}: {engine.reason}")
    return 0


def _convert(args: argparse.Namespace, settings: Settings) -> int:
    from app.registry.convert import ConversionError, convert_hf_to_gguf

    try:
        out = convert_hf_to_gguf(src=args.hf_dir, dst=args.out, outtype=args.outtype)
    except ConversionError as exc:
        log.error("%s", exc)
        return 1
    log.info("wrote %s", out)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    """Loaded models as /v1/models shows them, then configs not served and why (exit 1 if any
    failed)."""
    from app.api.routes.models import card
    from app.engine.catalog import load_survey

    catalog, unloaded = load_survey(settings)
    try:
        cards = [card(model).model_dump() for model in catalog]
    finally:
        catalog.stop()
    not_served = [
        {"name": u.name, "source": str(u.source), "status": u.status, "reason": u.reason}
        for u in unloaded
    ]
    print(json.dumps({"object": "list", "data": cards, "not_served": not_served}, indent=2))
    return 1 if any(u.status == "failed" for u in unloaded) else 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        code: int = args.models_handler(args, settings)
    except RegistryError as exc:
        log.error("%s", exc)
        return 1
    return code


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser("models", help="manage embedding models in models/")
    models.add_argument("--models-dir", type=Path, help="model registry dir (RAGPREP_MODELS_DIR)")
    actions = models.add_subparsers(dest="models_command", required=True)

    prepare = actions.add_parser("prepare", help="build the default GGUF from packaged weights")
    prepare.set_defaults(models_handler=_prepare)

    convert = actions.add_parser("convert", help="convert a HF BERT folder to GGUF")
    convert.add_argument("hf_dir", type=Path)
    convert.add_argument("out", type=Path)
    convert.add_argument("--outtype", choices=OUTTYPES, default="f16", help="weight type")
    convert.set_defaults(models_handler=_convert)

    listing = actions.add_parser("list", help="load models/ and print what /v1/models serves")
    listing.set_defaults(models_handler=_list)
    models.set_defaults(handler=run)
