"""The verify sandbox against hostile programs: real processes, real limits.

Each hostile kind runs twice where the machine has namespaces: with the audit hook (the default)
and without it, to show the outer layers (namespaces, the run's own uid, rlimits) hold alone.
Time bounds are generous safety asserts (the caller is never held past the limits), not speed claims.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from pipeline.verify.sandbox import Limits, mechanism, run_python

HOOK_MODES = [True, False] if mechanism() != "rlimits+audit-hook" else [True]
FAST = Limits(cpu_s=2, wall_s=4, memory_mb=256, processes=16)


def _sandbox_processes() -> list[str]:
    """Processes still running under a sandbox uid (420000..420999)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Uid:") and 420000 <= int(line.split()[1]) < 421000:
                found.append(status.parent.name)
    return found


def _left_behind(patience_s: float = 15.0) -> list[str]:
    """Sandbox processes still alive after `patience_s`: a killed PID namespace (or process group)
    is torn down asynchronously, which takes a while on a loaded machine."""
    deadline = time.monotonic() + patience_s
    while (found := _sandbox_processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_a_normal_program_runs_and_reports_json_events() -> None:
    result = run_python(
        "import json\nprint('hi')\nopen('result.jsonl', 'a').write(json.dumps({'x': [1, 2]}) + '\\n')"
    )
    assert result.exit_code == 0, result.stderr
    assert result.reason is None
    assert result.stdout.strip() == "hi"
    assert result.events == [{"x": [1, 2]}]


@pytest.mark.parametrize("hook", HOOK_MODES)
def test_an_infinite_loop_is_stopped_by_the_cpu_or_wall_limit(hook: bool) -> None:
    started = time.monotonic()
    result = run_python("while True:\n    pass\n", Limits(cpu_s=1, wall_s=4, audit_hook=hook))
    assert time.monotonic() - started < 4 + 5
    assert result.exit_code != 0
    assert result.reason is not None
    assert "CPU" in result.reason or "wall-clock" in result.reason


def test_a_sleeping_program_is_killed_at_the_wall_limit() -> None:
    started = time.monotonic()
    result = run_python("import time\ntime.sleep(60)\n", Limits(wall_s=2))
    assert time.monotonic() - started < 2 + 5
    assert result.timed_out
    assert result.reason is not None and "wall-clock" in result.reason


@pytest.mark.parametrize("hook", HOOK_MODES)
def test_a_fork_bomb_is_capped_and_leaves_no_process_behind(hook: bool) -> None:
    bomb = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    started = time.monotonic()
    result = run_python(
        bomb, Limits(cpu_s=2, wall_s=3, processes=16, audit_hook=hook), allow_fork=hook
    )
    assert time.monotonic() - started < 3 + 5
    assert result.reason is not None
    assert _left_behind() == []


def test_the_audit_hook_refuses_fork_unless_allowed() -> None:
    result = run_python("import os\nos.fork()\n", FAST)
    assert result.exit_code == 1
    assert "os.fork is not allowed" in result.stderr


@pytest.mark.parametrize("hook", HOOK_MODES)
def test_a_memory_bomb_fails_that_run_only(hook: bool) -> None:
    result = run_python("x = bytearray(2 * 1024**3)\n", Limits(memory_mb=256, audit_hook=hook))
    assert result.exit_code != 0
    assert result.reason is not None and "memory" in result.reason.lower()


@pytest.mark.parametrize("hook", HOOK_MODES)
def test_os_system_cannot_touch_the_callers_files(hook: bool, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    result = run_python(
        f"import os\nos.system('echo x > {target}')\nprint('after')", Limits(audit_hook=hook)
    )
    assert not target.exists()
    if hook:
        assert result.exit_code == 1
        assert "os.system is not allowed" in result.stderr


@pytest.mark.parametrize("hook", HOOK_MODES)
def test_writing_outside_the_working_folder_leaves_nothing(hook: bool, tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o777)  # even a world-writable folder of the caller's is out of reach
    inside_caller = tmp_path / "escape.txt"
    world = Path("/var/tmp") / f"wavecurate-escape-{uuid.uuid4().hex}"
    lock = Path("/run/lock") / f"wavecurate-escape-{uuid.uuid4().hex}"
    program = (
        f"import os\nfor p in [{str(inside_caller)!r}, {str(world)!r}, {str(lock)!r}, '/root/escape.txt']:\n"
        "    try:\n        open(p, 'w').write('x')\n    except OSError as e:\n        print('refused', p, e)\n"
        "open('inside.txt', 'w').write('ok')\nprint(open('inside.txt').read())\n"
    )
    result = run_python(program, Limits(audit_hook=hook))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().endswith("ok")  # its own folder is writable
    assert not inside_caller.exists()
    assert not world.exists()
    assert not lock.exists()
    assert not Path("/root/escape.txt").exists()
    if hook:
        assert result.stdout.count("refused") == 4


@pytest.mark.parametrize("hook", HOOK_MODES)
def test_a_socket_cannot_reach_anything(hook: bool) -> None:
    program = "import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('127.0.0.1', 22))\n"
    result = run_python(program, Limits(audit_hook=hook))
    assert result.exit_code == 1
    if hook:
        assert "socket" in result.stderr and "not allowed" in result.stderr
    else:
        # a fresh network namespace: even loopback is down
        assert "Network is unreachable" in result.stderr or "Connection refused" in result.stderr


def test_no_secret_is_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-for-the-test")
    program = (
        "import os\nprint(os.environ.get('ANTHROPIC_API_KEY'))\n"
        f"try:\n    print(open('/proc/{os.getpid()}/environ', 'rb').read())\n"
        "except OSError as e:\n    print('refused', type(e).__name__)\n"
    )
    result = run_python(program)
    assert "sk-ant-secret" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == "None"


def test_a_file_size_bomb_is_capped() -> None:
    result = run_python("open('big', 'wb').write(b'x' * (64 * 1024 * 1024))\n", Limits(file_mb=4))
    assert result.exit_code != 0
    assert result.reason is not None


FALLBACK_CASES = {
    "loop": ("while True:\n    pass\n", ("CPU", "wall-clock")),
    "memory": ("x = bytearray(2 * 1024**3)\n", ("memory",)),
    "system": ("import os\nos.system('true')\n", ("os.system is not allowed",)),
    "write": (
        "open('/var/tmp/wavecurate-fallback-escape', 'w').write('x')\n",
        ("outside the working folder",),
    ),
    "socket": ("import socket\nsocket.socket().connect(('127.0.0.1', 22))\n", ("not allowed",)),
}


@pytest.mark.parametrize("kind", sorted(FALLBACK_CASES))
def test_the_fallback_without_namespaces_still_contains_each_kind(kind: str) -> None:
    program, reasons = FALLBACK_CASES[kind]
    started = time.monotonic()
    result = run_python(program, Limits(cpu_s=1, wall_s=4, memory_mb=256, namespaces=False))
    assert time.monotonic() - started < 4 + 5
    assert result.mechanism == "rlimits+audit-hook"
    assert result.reason is not None
    assert any(r in result.reason for r in reasons), result.reason
    assert not Path("/var/tmp/wavecurate-fallback-escape").exists()


def test_the_fallback_fork_bomb_is_capped_and_reaped() -> None:
    bomb = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    limits = Limits(cpu_s=1, wall_s=3, processes=16, namespaces=False)
    result = run_python(bomb, limits, allow_fork=True)
    assert result.reason is not None
    assert _left_behind() == []


def test_a_results_file_swapped_for_a_symlink_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"leaked": true}\n')
    os.chmod(tmp_path, 0o755)
    os.chmod(secret, 0o644)  # readable even to the run: it still must not come back as its events
    program = f"import os\nos.remove('result.jsonl')\nos.symlink({str(secret)!r}, 'result.jsonl')\n"
    result = run_python(program, Limits(audit_hook=False))
    assert result.exit_code == 0, result.stderr
    assert result.events == []


def test_packages_of_an_environment_under_tmp_stay_importable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A project cloned under /tmp has its virtual environment there, where the namespaced run
    sees its own private /tmp: the environment's site-packages is bound in read-only."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="wc-venv-", dir="/tmp"))  # as a clone in /tmp would be
    try:
        site = root / "lib" / "site-packages"
        site.mkdir(parents=True)
        for folder in (root, root / "lib", site):
            folder.chmod(0o755)
        (site / "wc_probe_mod.py").write_text("VALUE = 42\n")
        monkeypatch.syspath_prepend(str(site))
        result = run_python(
            "import wc_probe_mod\nprint(wc_probe_mod.VALUE, flush=True)\n"
            "open(wc_probe_mod.__file__, 'a').write('x')\n"
        )
        assert result.stdout.strip() == "42", result.stderr
        assert result.exit_code != 0  # the environment is read-only to the run
        assert (site / "wc_probe_mod.py").read_text() == "VALUE = 42\n"
    finally:
        shutil.rmtree(root)
