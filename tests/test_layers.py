"""The layering rules of pyproject.toml's [tool.importlinter] contracts, checked on every run:
no web framework below app/api, services on domain types, schemas apart from the tables."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def loggers_kept() -> Iterator[None]:
    """lint_imports configures its logging with dictConfig, which disables every logger that
    exists already: the app's, for the rest of the session, and the caplog of any later test
    would see nothing from them."""
    loggers = logging.root.manager.loggerDict.values()
    states = {log: log.disabled for log in loggers if isinstance(log, logging.Logger)}
    yield
    for log, disabled in states.items():
        log.disabled = disabled


def test_the_layering_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_a_service_importing_the_web_framework_breaks_the_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same contract over a throwaway package whose service imports starlette.
    package = tmp_path / "layered"
    (package / "services").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "services" / "__init__.py").write_text("")
    (package / "services" / "store.py").write_text("from starlette.responses import Response\n")
    config = tmp_path / "contracts.toml"
    config.write_text(
        "[tool.importlinter]\n"
        'root_package = "layered"\n'
        "include_external_packages = true\n\n"
        "[[tool.importlinter.contracts]]\n"
        'name = "no web below the api"\n'
        'type = "forbidden"\n'
        'source_modules = ["layered.services"]\n'
        'forbidden_modules = ["fastapi", "starlette"]\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert lint_imports(config_filename=str(config), no_cache=True) == 1
    (package / "services" / "store.py").write_text("import json\n")
    assert lint_imports(config_filename=str(config), no_cache=True) == 0
