"""Options shared by the `ragprep` subcommands (kept apart so no subcommand imports the parser)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.config import Settings


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with the storage options given on the command line."""
    overrides = {
        key: value
        for key in ("storage_dir", "database_url", "models_dir")
        if (value := getattr(args, key, None)) is not None
    }
    return Settings(**overrides)


def add_storage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage-dir", type=Path, help="runtime data dir (RAGPREP_STORAGE_DIR)")
    parser.add_argument("--database-url", help="SQLAlchemy async URL (RAGPREP_DATABASE_URL)")
    parser.add_argument("--models-dir", type=Path, help="model registry dir (RAGPREP_MODELS_DIR)")
