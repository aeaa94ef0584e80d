"""The program the sandbox runs for one instance (standard library only; never imported by us).

Reads ``job.json`` (reference, candidate and buggy code, the import lines, the function name, the
inputs, the per-call limit), loads each side in its own namespace, calls each on each input, and
appends JSON lines to ``result.jsonl``: ``{"load": side, "error": ...}``, ``{"start": side, "i": n}``
just before each call (so the host can blame the side that killed the process), and
``{"i": n, "ref": ..., "ref2": ..., "cand": ..., "buggy": ...}`` per input, then ``{"done": true}``.
"""

# no `from __future__` import here: the sandbox puts its guard above this text
import contextlib
import io
import json
import math
import signal
import sys
import time
import types
from itertools import islice
from typing import Any

REPR_MAX = 300


class CallTimeout(BaseException):
    pass


def emit(obj: dict[str, Any]) -> None:
    with open("result.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(obj) + "\n")


def short(text: str) -> str:
    return text if len(text) <= REPR_MAX else text[: REPR_MAX - 3] + "..."


def safe_repr(value: object) -> str:
    try:
        return short(repr(value))
    except BaseException as exc:  # a hostile __repr__
        return "<repr failed: " + type(exc).__name__ + ">"


def load(
    side: str, imports: str, code: str, func_name: str
) -> tuple[Any, dict[str, Any], str | None]:
    ns: dict[str, Any] = {"__name__": "sandbox_" + side, "__builtins__": __builtins__}
    for line in imports.splitlines():
        if line.strip():
            with contextlib.suppress(BaseException):
                exec(compile(line.strip(), "<imports>", "exec"), ns)
    try:
        exec(compile(code, "<" + side + ">", "exec"), ns)
    except BaseException as exc:
        return None, ns, type(exc).__name__ + ": " + short(str(exc))
    fn = ns.get(func_name)
    if not callable(fn):
        return None, ns, "does not define a function named " + func_name
    return fn, ns, None


def normal(value: Any) -> Any:
    if isinstance(value, types.GeneratorType | map | filter | zip | enumerate | reversed):
        return list(islice(value, 10000))
    return value


def same(a: Any, b: Any) -> bool:
    try:
        if isinstance(a, float) and isinstance(b, float):
            return (math.isnan(a) and math.isnan(b)) or math.isclose(
                a, b, rel_tol=1e-9, abs_tol=1e-12
            )
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            return (
                type(a) is type(b)
                and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b, strict=True))
            )
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        result = a == b
        if isinstance(result, bool):
            return result
        return safe_repr(a) == safe_repr(b)
    except BaseException:
        return safe_repr(a) == safe_repr(b)


def on_alarm(signum: int, frame: object) -> None:
    raise CallTimeout()


def call(
    fn: Any, ref_ns: dict[str, Any], item: dict[str, str], limit: float
) -> tuple[dict[str, Any], Any]:
    """Returns (outcome dict for JSON, raw value or None)."""
    env = dict(ref_ns)
    try:
        if item["setup"]:
            exec(compile(item["setup"], "<setup>", "exec"), env)
        args, kwargs = eval(compile(item["call"], "<input>", "eval"), env)
    except BaseException as exc:
        return {"input_error": type(exc).__name__ + ": " + short(str(exc))}, None
    sink = io.StringIO()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            value = normal(fn(*args, **kwargs))
    except CallTimeout:
        return {"timeout": True}, None
    except RecursionError:
        return {"exc": "RecursionError", "msg": ""}, None
    except BaseException as exc:
        return {"exc": type(exc).__name__, "msg": short(str(exc))}, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {"ok": True, "repr": safe_repr(value)}, value


def main() -> None:
    with open("job.json", encoding="utf-8") as fh:
        job = json.load(fh)
    signal.signal(signal.SIGALRM, on_alarm)
    sys.setrecursionlimit(2000)
    name, limit, imports = job["func_name"], job["per_call_s"], job["imports"]
    ref, ref_ns, err = load("ref", imports, job["reference"], name)
    if err:
        emit({"load": "ref", "error": err})
        emit({"done": True})
        return
    sides = {}
    for side in ("cand", "buggy"):
        code = job.get(side)
        if code is None:
            continue
        fn, _, err = load(side, imports, code, name)
        if err:
            emit({"load": side, "error": err})
        else:
            sides[side] = fn
    started = time.monotonic()
    for i, item in enumerate(job["inputs"]):
        if time.monotonic() - started > job["budget_s"]:
            emit({"budget_spent_at": i})  # decide on the inputs done rather than be killed
            break
        row: dict[str, Any] = {"i": i}
        emit({"start": "ref", "i": i})
        row["ref"], expected = call(ref, ref_ns, item, limit)
        row["ref2"], again = call(ref, ref_ns, item, limit)
        row["ref_stable"] = row["ref"].keys() == row["ref2"].keys() and (
            "ok" not in row["ref"] or same(expected, again)
        )
        for side, fn in list(sides.items()):
            emit({"start": side, "i": i})
            row[side], got = call(fn, ref_ns, item, limit)
            if "ok" in row["ref"] and "ok" in row[side]:
                row[side + "_agrees"] = same(expected, got)
            elif "exc" in row["ref"] and "exc" in row[side]:
                row[side + "_agrees"] = row["ref"]["exc"] == row[side]["exc"]
            else:
                row[side + "_agrees"] = False
            if not row[side + "_agrees"] and row["ref_stable"]:
                del sides[side]  # one disagreement decides that side: spare the rest of the time
        emit(row)
    emit({"done": True})


main()
