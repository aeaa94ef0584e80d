"""`wavecurate app`: the command it runs, and its refusal without a workspace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.cli.app import APP_MAIN, streamlit_command


def test_the_command_serves_app_main_headless_on_the_workspace(tmp_path: Path) -> None:
    cmd = streamlit_command(tmp_path, port=8765, address="127.0.0.1")
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", str(APP_MAIN)]
    assert APP_MAIN.exists() and APP_MAIN.parent.name == "app"
    options = dict(zip(cmd[5:-3:2], cmd[6:-3:2], strict=True))
    assert options == {
        "--server.headless": "true",
        "--server.port": "8765",
        "--server.address": "127.0.0.1",
        "--browser.gatherUsageStats": "false",
    }
    assert cmd[-3:] == ["--", "--workspace", str(tmp_path)]


def test_app_refuses_a_folder_without_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no workspace here"):
        main(["app", "--workspace", str(tmp_path / "none")])


def test_app_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["app", "--help"])
    out = capsys.readouterr().out
    assert "--port" in out and "--workspace" in out and "--address" in out
