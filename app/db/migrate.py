"""Apply Alembic migrations programmatically; the schema is never created any other way.

Most starts find the database at head already. For SQLite that is checked first with the
standard library (the revisions the migration files declare against the `alembic_version`
row), so such a start neither imports Alembic nor runs its environment (about 0.25 s of a
1.5 s start-up budget, measured). Anything else, or any doubt, goes through Alembic.
"""

from __future__ import annotations

import ast
import contextlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade_to_head(database_url: str) -> None:
    """Blocking: run from a worker thread or before the event loop starts."""
    if sqlite_at_head(database_url):
        return
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


def head_revisions(versions: Path = MIGRATIONS_DIR / "versions") -> frozenset[str] | None:
    """The head revisions the migration files declare (those no other file revises), read
    from their `revision` and `down_revision` assignments; None if a file declares them in a
    way this reading does not follow (then Alembic decides)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in versions.glob("*.py"):
        declared = _declared(path)
        if declared is None:
            return None
        revision, down = declared
        revisions.add(revision)
        revised.update(down)
    return frozenset(revisions - revised) or None


def _declared(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """(revision, down revisions) of one migration file, from its module-level literals."""
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target, value = _assignment(node)
        if target in ("revision", "down_revision") and value is not None:
            with contextlib.suppress(ValueError):
                values[target] = ast.literal_eval(value)
    revision, down = values.get("revision"), values.get("down_revision", ...)
    if not isinstance(revision, str):
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def sqlite_at_head(database_url: str) -> bool:
    """Whether `database_url` is a SQLite file whose recorded revisions are the heads; False
    for anything else (another database, a missing file, no version table yet)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    path = Path(url.database)
    if not path.is_file():
        return False
    heads = head_revisions()
    if heads is None:
        return False
    try:
        # Read-only: this check never creates or changes anything.
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            rows = db.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return False
    return frozenset(row[0] for row in rows) == heads
