"""`wavecurate app`: serve the review app on a workspace (Streamlit, headless, no browser opened)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from pipeline.cli.common import add_command, open_workspace

# the app ships beside `pipeline` (both are packages of this distribution)
APP_MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(sub, "app", run)
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 to serve a team on the network)",
    )


def streamlit_command(workspace: Path, *, port: int, address: str) -> list[str]:
    """The command line that serves the app: `python -m streamlit run app/main.py ... --
    --workspace DIR`, headless, usage statistics off."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_MAIN),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--browser.gatherUsageStats",
        "false",
        "--",
        "--workspace",
        str(workspace),
    ]


def serve(workspace: Path, *, port: int = 8501, address: str = "127.0.0.1") -> int:
    """Serve the app on `workspace` until interrupted. On POSIX this process becomes the server
    (exec), so stopping it stops the server; elsewhere the server runs as a child."""
    workspace = Path(workspace).resolve()
    cmd = streamlit_command(workspace, port=port, address=address)
    host = "localhost" if address in ("127.0.0.1", "0.0.0.0") else address
    print(
        f"wavecurate app on {workspace}: http://{host}:{port}  (Ctrl+C stops it)",
        file=sys.stderr,
        flush=True,
    )
    # Streamlit reads .streamlit/config.toml (the app's theme) from the folder it starts in
    project = APP_MAIN.parents[1]
    if (project / ".streamlit" / "config.toml").exists():
        os.chdir(project)
    if os.name == "posix":
        os.execv(sys.executable, cmd)
    return subprocess.call(cmd)


def run(args: argparse.Namespace) -> int:
    """serve the app (overview, map, review, agreement, export) on the workspace

    Serve the Streamlit app on the workspace, headless: open the printed URL in a browser.
    Several reviewers may use it at once."""
    ws = open_workspace(args)  # fails early, with the usual message, when there is none
    root = ws.root
    ws.close()
    return serve(root, port=args.port, address=args.address)
