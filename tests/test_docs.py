"""The README stays true: its CLI reference is the parsers' own help, its test command is CI's."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.cli import COMMANDS
from pipeline.cli.reference import END, START, render

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_cli_reference_matches_help() -> None:
    block = README.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == render().strip(), (
        "README's CLI reference drifted from --help: run `python -m pipeline.cli.reference`"
    )


def test_every_command_is_in_the_reference() -> None:
    for name in COMMANDS:
        assert f"#### `wavecurate {name}`" in README


def test_ci_runs_the_readme_test_command() -> None:
    quick = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(bash scripts/\S+)", quick, flags=re.MULTILINE)
    assert len(commands) == 2, commands
    test_command = commands[1]
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_readme_config_example_is_valid() -> None:
    import tomllib

    from pipeline.config import Config

    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = Config.from_dict(tomllib.loads(example), origin="README")
    assert config.select.k == 1000 and config.filter.max_chars == 800
