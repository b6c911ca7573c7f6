"""The README is the newcomer's entry point: it must stay true to the code."""

from __future__ import annotations

import re

from app.config import Settings
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_first_two_commands_are_make_run_and_make_test() -> None:
    commands = re.findall(r"^(make \w+)", README, flags=re.M)
    assert commands[:2] == ["make run", "make test"]


def test_every_setting_is_documented() -> None:
    missing = [
        f"RAGPREP_{name.upper()}"
        for name in Settings.model_fields
        if f"`RAGPREP_{name.upper()}`" not in README
    ]
    assert not missing, f"README lacks {missing}"


def test_no_placeholders_are_left() -> None:
    assert not re.search(r"^[A-Z_]{6,}$", README, flags=re.M)


def test_the_fidelity_table_is_the_contract() -> None:
    """Each weight type's bound in the README is the one prepare and the tests enforce."""
    from app.registry.fidelity import FLOOR, MIN_COSINE

    rows = dict(re.findall(r"^\| (f32|f16|bf16|q8_0|q4_0) \| ([0-9.]+) \|", README, flags=re.M))
    assert {kind: float(bound) for kind, bound in rows.items()} == dict(MIN_COSINE)
    assert f"cosine ≥ {FLOOR} in every\nweight type `models prepare` may pick" in README
