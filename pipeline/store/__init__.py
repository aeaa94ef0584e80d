"""The workspace: one folder, one SQLite database, embedding files beside it.

Every SQL statement of wavecurate lives in this package (`pipeline.store`): the core here (opening,
migrations, transactions, runs, metrics) and one submodule per area (`samples`, `coreset`, `llm`,
`instances`, `reviews`, `export`...). Stages and pages call functions, never SQL, so that another
database can stand behind the same functions later.

Concurrency: WAL mode, a busy timeout, and `BEGIN IMMEDIATE` for every write (`Workspace.write()`),
so several processes (CLI stages, app sessions) can write without losing anything. Use one
`Workspace` per thread or app session.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.config import Config, config_hash, render_default
from pipeline.store.schema import MIGRATIONS, SCHEMA_VERSION

DB_NAME = "wavecurate.db"
CONFIG_NAME = "wavecurate.toml"
BUSY_TIMEOUT_MS = 30_000

__all__ = ["SCHEMA_VERSION", "Run", "StageRun", "Workspace", "WorkspaceError", "chunks", "now"]


class WorkspaceError(RuntimeError):
    """The workspace cannot be opened or is newer than this wavecurate."""


def chunks(ids: Iterable[str], size: int = 500) -> Iterator[tuple[list[str], str]]:
    """`ids` in lists of at most `size` (under SQLite's bound-parameter limit), each with its
    placeholder text ("?,?,...") for an `IN (...)` clause."""
    chunk: list[str] = []
    for i in ids:
        chunk.append(i)
        if len(chunk) == size:
            yield chunk, ",".join("?" * len(chunk))
            chunk = []
    if chunk:
        yield chunk, ",".join("?" * len(chunk))


def now() -> str:
    """UTC time as ISO 8601 with milliseconds: sorts as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Run:
    """A stage run being recorded: add to `counts`; the row is closed when the block ends."""

    id: int
    stage: str
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageRun:
    """A stage's run as `Workspace.stage` opened it.

    `current`: the stored stage state equals `hash` (same settings and inputs, not forced): the
    stage returns at once and nothing is recorded. Otherwise add to `counts` (they go to the
    `runs` row) and set `complete = False` when the run stopped early (a spend limit), so the
    next run does the rest instead of calling the work current.
    """

    stage: str
    hash: str
    current: bool
    counts: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    id: int = 0


class Workspace:
    """An open workspace folder. Cheap to open; holds one SQLite connection."""

    def __init__(self, root: Path, *, create: bool = False) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise WorkspaceError(f"{self.root}: not a folder (a workspace is a folder)")
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise WorkspaceError(f"{self.root}: cannot create the workspace: {e}") from None
        elif not (self.root / DB_NAME).exists():
            raise WorkspaceError(
                f"{self.root}: no workspace here (run `wavecurate init --workspace {self.root}`)"
            )
        self._snapshot = False
        self._config: Config | None = None
        path = self.root / DB_NAME
        try:
            self.db = sqlite3.connect(
                path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # we issue BEGIN ourselves
                check_same_thread=False,
            )
            self.db.row_factory = sqlite3.Row
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._mark_interrupted()
            self.sync_gate()
        except sqlite3.DatabaseError as e:
            if "not a database" in str(e):
                raise WorkspaceError(f"{path}: not a wavecurate database (not SQLite)") from None
            if "readonly" in str(e) or "unable to open" in str(e):
                raise WorkspaceError(
                    f"{path}: cannot write the workspace (read-only? {e})"
                ) from None
            raise WorkspaceError(f"{path}: {e}") from None

    # -- paths and config -------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def embeddings_dir(self) -> Path:
        return self.root / "embeddings"

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = Config.load(self.config_path)
        return self._config

    @classmethod
    def init(cls, root: Path) -> Workspace:
        """Create (or open) a workspace and write the default config if there is none."""
        ws = cls(root, create=True)
        if not ws.config_path.exists():
            ws.config_path.write_text(render_default(), encoding="utf-8")
        return ws

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.write():
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise WorkspaceError(
                    f"{self.root}: schema version {version} is newer than this wavecurate "
                    f"understands ({SCHEMA_VERSION}); upgrade wavecurate"
                )
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _split_sql(MIGRATIONS[number - 1]):
                    self.db.execute(statement)
                self.db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(number),),
                )

    def sync_gate(self, gate: bool | None = None) -> None:
        """Mirror `[verify] gate` (or `gate` when given) into meta `verify_gate`, which view
        `final_verdicts` reads. Opening a workspace calls it; a config that cannot be read leaves
        the value as it was (the command that needs the config says why)."""
        from pipeline.config import ConfigError

        if gate is None:
            try:  # not cached in `config`: a test or command may write the file after opening
                gate = Config.load(self.config_path).verify.gate
            except (ConfigError, OSError):
                return
        value = "1" if gate else "0"
        row = self.db.execute("SELECT value FROM meta WHERE key = 'verify_gate'").fetchone()
        if (row[0] if row else "1") != value:
            with self.write():
                self.db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('verify_gate', ?)", (value,)
                )

    @property
    def schema_version(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    # -- transactions -----------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (`BEGIN IMMEDIATE`): no lock upgrade deadlocks.

        Raises RuntimeError inside `snapshot()`: a read snapshot never turns into a write."""
        if self._snapshot:
            raise RuntimeError("a write inside a read snapshot (Workspace.snapshot)")
        if self.db.in_transaction:  # nested: join the outer transaction
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: every query inside sees the same database state, whatever other
        processes commit meanwhile (WAL). `BEGIN` plus a first read takes the snapshot; `COMMIT`
        at the end releases it. Nested snapshots join the outer one; `write()` inside raises."""
        if self._snapshot:
            yield
            return
        if self.db.in_transaction:
            raise RuntimeError("a read snapshot inside a write transaction")
        self.db.execute("BEGIN")
        self.db.execute("SELECT COUNT(*) FROM meta").fetchone()  # the read that pins the snapshot
        self._snapshot = True
        try:
            yield
        finally:
            self._snapshot = False
            self.db.execute("COMMIT")

    # -- runs, stage state, metrics ---------------------------------------------------------
    def _mark_interrupted(self) -> None:
        """Mark `interrupted` the runs left `running` by a process that is gone: same host and
        the pid no longer alive, or a run recorded before this machine's last boot. Runs of
        other hosts, of live processes, and old rows without a pid are left as they are."""
        rows = self.db.execute(
            "SELECT id, pid, host, boot_id FROM runs WHERE status = 'running' AND pid IS NOT NULL"
        ).fetchall()
        host, boot = _host(), _boot_id()
        gone = [
            int(r["id"])
            for r in rows
            if r["host"] == host and (r["boot_id"] != boot or not _alive(int(r["pid"])))
        ]
        if gone:
            with self.write():
                self.db.executemany(
                    "UPDATE runs SET status = 'interrupted', finished_at = ? "
                    "WHERE id = ? AND status = 'running'",
                    [(now(), i) for i in gone],
                )

    @contextmanager
    def run(self, stage: str, config_hash: str = "") -> Iterator[Run]:
        """Record a stage run: a `runs` row opened now and closed with counts and seconds."""
        started = time.perf_counter()
        with self.write():
            cur = self.db.execute(
                "INSERT INTO runs(stage, started_at, config_hash, status, pid, host, boot_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (stage, now(), config_hash, "running", os.getpid(), _host(), _boot_id()),
            )
        run = Run(id=int(cur.lastrowid or 0), stage=stage)
        status = "failed"
        try:
            yield run
            status = "done"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            with self.write():
                self.db.execute(
                    "UPDATE runs SET finished_at = ?, seconds = ?, counts = ?, status = ? "
                    "WHERE id = ?",
                    (
                        now(),
                        time.perf_counter() - started,
                        json.dumps(run.counts, sort_keys=True),
                        status,
                        run.id,
                    ),
                )

    @contextmanager
    def stage(
        self, name: str, cfg: Any, inputs: Any = (), *, force: bool = False
    ) -> Iterator[StageRun]:
        """Open a run of stage `name`: the one place that decides whether its work is current.

        The state is `config_hash(cfg, inputs)`: `cfg` is the stage's settings (run-only fields
        left out), `inputs` whatever else the output depends on (JSON-able: digests of ids and
        texts, a model key...). When it equals the stored stage state and not `force`, yields a
        `StageRun` with `current=True` and records nothing. Otherwise records a `runs` row
        (running, then done | failed | interrupted, with seconds and counts) and, when the block
        ends without an exception and `complete` is still true, stores the state.
        """
        state = config_hash(cfg, inputs)
        if not force and self.stage_hash(name) == state:
            yield StageRun(name, state, current=True)
            return
        with self.run(name, state) as run:
            sr = StageRun(name, state, current=False, counts=run.counts, id=run.id)
            yield sr
        if sr.complete:
            self.set_stage_hash(name, state)

    def last_runs(self) -> list[dict[str, Any]]:
        """The latest finished run of each stage: stage, seconds, counts, status, finished_at."""
        rows = self.db.execute(
            "SELECT stage, seconds, counts, status, finished_at FROM runs WHERE id IN "
            "(SELECT MAX(id) FROM runs WHERE status != 'running' GROUP BY stage) ORDER BY id"
        ).fetchall()
        return [{**dict(r), "counts": json.loads(r["counts"])} for r in rows]

    def stage_hash(self, stage: str) -> str | None:
        row = self.db.execute(
            "SELECT config_hash FROM stage_state WHERE stage = ?", (stage,)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_stage_hash(self, stage: str, config_hash: str) -> None:
        with self.write():
            self.db.execute(
                "INSERT OR REPLACE INTO stage_state(stage, config_hash, updated_at) VALUES (?,?,?)",
                (stage, config_hash, now()),
            )

    def get_metric(self, name: str) -> Any:
        row = self.db.execute("SELECT value FROM metrics WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_metric(self, name: str, value: Any) -> None:
        with self.write():
            self.db.execute(
                "INSERT OR REPLACE INTO metrics(name, value, updated_at) VALUES (?, ?, ?)",
                (name, json.dumps(value, sort_keys=True), now()),
            )


def _host() -> str:
    return socket.gethostname()


def _boot_id() -> str:
    """This boot of the machine (Linux), else empty: a pid from an earlier boot is not alive."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """The process `pid` exists (it may be another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (no semicolons inside our statements or comments)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
