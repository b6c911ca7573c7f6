"""`ragprep models prepare`: a broken default config is reported as the registry reports it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.config import Settings
from app.engine.catalog import load_catalog
from app.registry.prepare import DEFAULT_CONFIG, DEFAULT_MODEL_NAME, prepare_default
from app.registry.specs import RegistryError, survey

BROKEN = {
    "not-utf8": DEFAULT_CONFIG.encode().replace(b"name: all-MiniLM", b"name: caf\xe9-MiniLM"),
    "not-yaml": b"name: [unclosed\nparameters:\n  model: all-MiniLM-L6-v2.gguf\n",
    "parameters-not-a-mapping": b"name: x\nembeddings: true\nparameters: all-MiniLM-L6-v2.gguf\n",
}


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_default_config_reads_as_the_registry_reports_it(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / f"{DEFAULT_MODEL_NAME}.yaml").write_bytes(content)
    [unloaded] = survey(models).failed  # what `ragprep models list` and start-up say
    assert unloaded.reason.startswith(str(models / f"{DEFAULT_MODEL_NAME}.yaml"))

    with pytest.raises(RegistryError) as raised:
        prepare_default(models)
    assert str(raised.value) == unloaded.reason
    with pytest.raises(RegistryError):
        load_catalog(Settings(storage_dir=tmp_path / "storage", models_dir=models))
    assert main(["models", "--models-dir", str(models), "prepare"]) == 1
    assert unloaded.reason in caplog.text
