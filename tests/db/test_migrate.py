"""The start-up check that skips Alembic when a SQLite database is already at head."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from app.db.migrate import alembic_config, head_revisions, sqlite_at_head, upgrade_to_head

REPO = Path(__file__).resolve().parents[2]


def _url(db: Path) -> str:
    return f"sqlite+aiosqlite:///{db}"


def test_head_revisions_are_alembics_heads(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config(_url(tmp_path / "unused.db")))
    assert head_revisions() == frozenset(script.get_heads())


def _migration(folder: Path, name: str, header: str) -> None:
    (folder / f"{name}.py").write_text(f'"""{name}"""\n{header}\n\n\ndef upgrade() -> None: ...\n')


def test_head_revisions_follow_branches_and_merges(tmp_path: Path) -> None:
    _migration(tmp_path, "a", "revision = 'a'\ndown_revision = None")
    _migration(tmp_path, "b", 'revision: str = "b"\ndown_revision: str | None = "a"')
    _migration(tmp_path, "c", 'revision = "c"\ndown_revision = "a"')
    assert head_revisions(tmp_path) == frozenset({"b", "c"})
    _migration(tmp_path, "m", 'revision = "m"\ndown_revision = ("b", "c")')
    assert head_revisions(tmp_path) == frozenset({"m"})


def test_a_revision_declared_otherwise_leaves_the_decision_to_alembic(tmp_path: Path) -> None:
    _migration(tmp_path, "a", "revision = 'a'\ndown_revision = None")
    _migration(tmp_path, "b", "revision = 'b'.upper()\ndown_revision = 'a'")
    assert head_revisions(tmp_path) is None


def test_at_head_only_once_the_database_records_the_heads(tmp_path: Path) -> None:
    db = tmp_path / "ragprep.db"
    url = _url(db)
    assert not sqlite_at_head(url)  # no file: nothing is created by asking
    assert not db.exists()
    sqlite3.connect(db).close()
    assert not sqlite_at_head(url)  # a file without a version table
    upgrade_to_head(url)
    assert sqlite_at_head(url)
    command.downgrade(alembic_config(url), "0001")
    assert not sqlite_at_head(url)
    upgrade_to_head(url)  # behind head: Alembic upgrades it
    assert sqlite_at_head(url)


def test_other_databases_always_go_through_alembic() -> None:
    assert not sqlite_at_head("postgresql+asyncpg://ragprep@db.invalid/ragprep")
    assert not sqlite_at_head("sqlite+aiosqlite:///:memory:")


def test_a_start_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    url = _url(tmp_path / "ragprep.db")
    upgrade_to_head(url)
    code = (
        "import sys; from app.db.migrate import upgrade_to_head; upgrade_to_head(sys.argv[1]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert run.stdout.strip() == "[]"
