"""Run one untrusted Python program in its own process, behind every limit this machine allows.

The boundary, outermost first (see README, "The verify sandbox"):

* namespaces (``unshare --net --pid --ipc --uts --mount``, when the caller is root or the kernel
  allows user namespaces): no network interface but loopback-down, its own PID space (when the
  program's first process ends, the kernel kills everything it spawned), private tmpfs over
  ``/tmp``, ``/var/tmp`` and ``/dev/shm`` (writes there vanish with the run);
* an unprivileged uid of its own (root callers only), so the filesystem refuses writes outside the
  run's folder and ``RLIMIT_NPROC`` counts only this run's processes;
* rlimits: CPU seconds, address space, processes, file size, no core files;
* a wall-clock limit: the whole process group is killed;
* an environment built from nothing (no API keys), a fresh temporary working folder;
* an audit hook (defence in depth, and the only guard left in the fallback): refuses sockets,
  subprocesses, ``os.system``, ``exec*``/``fork`` and writes outside the working folder
  (ctypes stays allowed: numpy needs it, and it can step past the hook: the outer layers hold).

Returns a :class:`SandboxResult`; never raises for anything the program does.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULT_FILE = "result.jsonl"
_UID_BASE = 420000  # per-run uids 420000..420999: unused by any account on a Debian machine
_uid_counter = itertools.count()
_uid_lock = threading.Lock()


@dataclass(frozen=True)
class Limits:
    """Per-run limits. Units: seconds, MiB, processes, KiB (captured output per stream)."""

    cpu_s: int = 10
    wall_s: float = 20.0
    memory_mb: int = 1024
    processes: int = 32
    file_mb: int = 16
    output_kb: int = 64
    per_call_s: float = 2.0  # one call inside the differential harness
    audit_hook: bool = True  # off only in tests that prove the outer layers hold on their own
    namespaces: bool = (
        True  # False forces the fallback (tests of the fallback on a capable machine)
    )


@dataclass(frozen=True)
class SandboxResult:
    """What one run did. ``events`` are the JSON lines the program appended to ``result.jsonl``."""

    exit_code: int | None  # None when it was killed by a signal
    signal: int | None
    stdout: str
    stderr: str
    timed_out: bool  # wall clock ran out (CPU limit shows as signal SIGXCPU/SIGKILL)
    events: list[dict[str, Any]] = field(default_factory=list)
    mechanism: str = ""
    wall_s: float = 0.0

    @property
    def reason(self) -> str | None:
        """A one-line reason the run did not end normally, or None when it exited 0."""
        if self.timed_out:
            return "wall-clock limit reached; process group killed"
        if self.signal == signal.SIGXCPU:
            return "CPU-time limit reached (SIGXCPU)"
        if self.signal is not None:
            return f"killed by {signal.Signals(self.signal).name} (CPU hard limit or memory)"
        if "MemoryError" in self.stderr:
            return "memory limit reached (MemoryError)"
        if self.exit_code:
            tail = self.stderr.strip().splitlines()[-1:] or [""]
            return f"exit status {self.exit_code}: {tail[0][:200]}"
        return None


@functools.cache
def mechanism() -> str:
    """``"namespaces+uid"``, ``"namespaces"`` or ``"rlimits+audit-hook"``: what this machine allows.

    Probed once per process by running ``unshare`` for real.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return "rlimits+audit-hook"
    flags = ["--net", "--pid", "--ipc", "--uts", "--mount", "--fork", "--kill-child"]
    if os.geteuid() != 0:
        flags = ["--map-root-user", *flags]
    try:
        probe = subprocess.run(
            [unshare, *flags, "true"],
            capture_output=True,
            timeout=10,
            env={"PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return "rlimits+audit-hook"
    if probe.returncode != 0:
        return "rlimits+audit-hook"
    return "namespaces+uid" if os.geteuid() == 0 else "namespaces"


_GUARD = r"""
import os as _os, sys as _sys
def _wavecurate_guard():
    root = _os.path.realpath(_os.getcwd())
    deny = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
            "os.fork", "os.forkpty", "pty.", "os.kill", "os.killpg", "signal.pthread_kill")
    paths = {"os.remove": 0, "os.rename": 0, "os.rmdir": 0, "os.mkdir": 0, "os.chmod": 0,
             "os.chown": 0, "os.truncate": 0, "os.symlink": 1, "os.link": 1, "shutil.rmtree": 0}
    allow_fork = ALLOW_FORK
    def inside(p):
        try:
            p = _os.fsdecode(p) if not isinstance(p, int) else None
        except Exception:
            return False
        if p is None:
            return True
        real = _os.path.realpath(p)
        return real == root or real.startswith(root + _os.sep)
    def hook(event, args):
        if event.startswith(deny) and not (allow_fork and event.startswith(("os.fork", "os.system", "subprocess.", "os.exec", "os.posix_spawn"))):
            if event.startswith("socket.") and event in ("socket.getaddrinfo", "socket.gethostname"):
                pass
            raise PermissionError("sandbox: " + event + " is not allowed")
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (_os.O_WRONLY | _os.O_RDWR | _os.O_CREAT | _os.O_TRUNC | _os.O_APPEND))
            if writing and not inside(path):
                raise PermissionError("sandbox: writing outside the working folder: " + str(path))
        elif event in paths:
            target = args[paths[event]] if len(args) > paths[event] else None
            if target is not None and not inside(target):
                raise PermissionError("sandbox: " + event + " outside the working folder")
    _sys.addaudithook(hook)
_wavecurate_guard()
del _wavecurate_guard
"""


def _world_readable(path: str) -> bool:
    """True when a uid with no privileges can execute ``path`` (every folder above it searchable)."""
    real = os.path.realpath(path)
    try:
        if os.stat(real).st_mode & 0o005 != 0o005:
            return False
        parent = os.path.dirname(real)
        while True:
            if os.stat(parent).st_mode & 0o001 == 0:
                return False
            if parent == os.path.dirname(parent):
                return True
            parent = os.path.dirname(parent)
    except OSError:
        return False


@functools.cache
def interpreter() -> str:
    """The Python the sandbox runs: this process's own when the run's uid can reach it and its
    standard library, else the system's ``/usr/bin/python3`` (here the project's interpreter lives
    under ``/root``, which an unprivileged uid cannot enter)."""
    prefix_ok = _world_readable(os.path.join(sys.base_prefix, "lib"))
    if os.geteuid() != 0 or (_world_readable(sys.executable) and prefix_ok):
        return sys.executable
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if _world_readable(candidate):
            return candidate
    return sys.executable


def _preexec(limits: Limits, uid: int | None) -> None:
    """Only where ``prlimit`` is missing: rlimits (and the uid drop) between fork and exec."""
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


def _next_uid() -> int:
    with _uid_lock:
        return _UID_BASE + next(_uid_counter) % 1000


def _read_bounded(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path``; never follows a symlink (the run may plant one in its
    folder pointing at a file only the caller may read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b""
    with os.fdopen(fd, "rb") as fh:
        try:
            return fh.read(limit) if os.path.isfile(path) else b""
        except OSError:
            return b""


def run_python(
    program: str,
    limits: Limits = Limits(),
    files: dict[str, str] | None = None,
    allow_fork: bool = False,
) -> SandboxResult:
    """Run ``program`` (Python source) under ``limits`` in a fresh folder holding ``files``.

    The program may append JSON lines to ``result.jsonl`` in its working folder; they come back as
    ``events`` (at most 4 MiB read; lines that do not parse are dropped). ``allow_fork`` lets the
    audit hook pass process creation (tests use it to prove the outer limits hold on their own).
    """
    mech = mechanism() if limits.namespaces else "rlimits+audit-hook"
    uid = _next_uid() if os.geteuid() == 0 else None
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wavecurate-sandbox-") as tmp:
        base = Path(tmp)
        os.chmod(base, 0o711)
        work = base / "work"
        work.mkdir()
        guard = _GUARD.replace("ALLOW_FORK", repr(allow_fork)) if limits.audit_hook else ""
        binds: list[tuple[str, str]] = []  # (a folder the namespace covers, its name inside)
        if interpreter() != sys.executable:
            # the system Python still sees this environment's packages (a sample may import them)
            paths = [p for p in sys.path if p.endswith("site-packages") and _world_readable(p)]
            if mech.startswith("namespaces"):
                # a virtual environment under /tmp (a clone there, say) would be hidden by the
                # run's own /tmp: bind it read-only into the run's folder first
                for i, site in enumerate(paths):
                    if _covered(site):
                        binds.append((os.path.realpath(site), f".sp{i}"))
                        paths[i] = f"/tmp/.sp{i}"
            guard = f"import sys as _s; _s.path.extend({paths!r}); del _s\n" + guard
        (work / "main.py").write_text(guard + "\n" + program, encoding="utf-8")
        for name, text in (files or {}).items():
            (work / name).write_text(text, encoding="utf-8")
        (work / RESULT_FILE).touch()
        if uid is not None:
            for entry in [work, *work.iterdir()]:
                os.chown(entry, uid, uid)
        out_path, err_path = base / "stdout", base / "stderr"
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(work),
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONIOENCODING": "utf-8",
        }
        python = [interpreter(), "-I", "main.py"]
        namespaced = mech.startswith("namespaces")
        prlimit = shutil.which("prlimit")
        mb = 1024 * 1024
        rlimits = [
            f"--cpu={limits.cpu_s}:{limits.cpu_s + 1}",
            f"--as={limits.memory_mb * mb}",
            f"--fsize={limits.file_mb * mb}",
            "--core=0",
        ]
        user: int | None = None
        if namespaced:
            unshare = shutil.which("unshare") or "unshare"
            flags = ["--net", "--pid", "--ipc", "--uts", "--mount", "--fork", "--kill-child"]
            if os.geteuid() != 0:
                flags = ["--map-root-user", *flags]
            drop = (
                f"prlimit --nproc={limits.processes} setpriv --reuid={uid} --regid={uid} --clear-groups "
                if uid is not None
                else ""
            )
            # inside the namespaces, still root: open the status file beside (not in) the run's
            # folder, make the run's folder /tmp, private tmpfs over the other world-writable
            # folders, the NPROC limit (root ignores it, the run's uid does not), drop to the
            # run's uid; the program's exit status goes to fd 3, which the program never holds.
            ro = "".join(
                f'mkdir -p "$PWD/{name}" && mount --bind -o ro {shlex.quote(src)} "$PWD/{name}" '
                "|| exit 97; "
                for src, name in binds
            )
            script = (
                'exec 3>"$PWD/../status" || exit 96; '
                + ro
                + 'mount --rbind "$PWD" /tmp && cd /tmp && export HOME=/tmp || exit 97; '
                "for d in /var/tmp /dev/shm /run/lock; do "
                "[ -d $d ] && mount -t tmpfs -o size=8m,mode=1777 tmpfs $d; done; "
                + drop
                + '"$@" 3>&-; echo $? >&3'
            )
            argv = [unshare, *flags, "--", "/bin/sh", "-c", script, "sandbox", *python]
        else:
            argv = python
            if uid is not None:
                user = uid  # subprocess drops to it before exec; prlimit then lowers NPROC
                rlimits.append(f"--nproc={limits.processes}")
        # rlimits through util-linux's prlimit, so no Python runs between fork and exec (a
        # preexec_fn is unsafe while other threads run, and verify_many runs sandboxes in threads)
        preexec = None
        if prlimit is not None:
            argv = [prlimit, *rlimits, "--", *argv]
        else:
            preexec = functools.partial(_preexec, limits, user)
            user = None
        timed_out = False
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                argv,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                user=user,
                group=user,
                extra_groups=[] if user is not None else None,
                preexec_fn=preexec,
            )
            try:
                proc.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                with _suppress_lookup():
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            _kill_group(proc.pid)
        code = proc.returncode
        status_text = _read_bounded(base / "status", 32).decode("ascii", "replace").strip()
        if namespaced:
            # the shell saw the program's own status (128+n: killed by signal n); without it
            # (killed on the wall clock) keep unshare's
            code = int(status_text) if status_text.isdigit() else code
        cap = limits.output_kb * 1024
        events: list[dict[str, Any]] = []
        raw = _read_bounded(work / RESULT_FILE, 4 * 1024 * 1024)
        for line in raw.decode("utf-8", "replace").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict):
                events.append(item)
        stderr = _read_bounded(err_path, cap).decode("utf-8", "replace")
        # unshare reports its child's death by signal as exit status 128+n
        sig = -code if code is not None and code < 0 else None
        if sig is None and mech.startswith("namespaces") and code is not None and code > 128:
            sig = code - 128
        return SandboxResult(
            exit_code=None if sig is not None else code,
            signal=sig,
            stdout=_read_bounded(out_path, cap).decode("utf-8", "replace"),
            stderr=stderr,
            timed_out=timed_out,
            events=events,
            mechanism=mech,
            wall_s=time.monotonic() - started,
        )


_COVERED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # what the namespace replaces


def _covered(path: str) -> bool:
    """True when `path` lies in a folder the namespaced run sees a private copy of."""
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root + "/") for root in _COVERED)


def _kill_group(pgid: int, patience_s: float = 5.0) -> None:
    """SIGKILL the run's process group until it is empty (or ``patience_s`` passes): a fork bomb
    keeps forking between two kills, and a PID namespace is torn down asynchronously."""
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except PermissionError:
            return
        time.sleep(0.02)


class _suppress_lookup:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], (ProcessLookupError, PermissionError))  # type: ignore[arg-type]
