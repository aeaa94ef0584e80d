"""Reviews in and out as JSONL: labels made elsewhere (another annotation tool, another workspace)
come in; every effective review goes out in the same format.

One JSON object per line:

    {"instance_id": "...", "verdict": "accept" | "reject", "reviewer": "...",
     "reason": "...",                      # optional
     "criteria": {"name": true | false},   # optional: pass/fail as the reviewer sees it
     "edits": {"instruction" | "input" | "output": "new text"}}   # optional

`read_reviews` validates every line against the workspace and names each bad one as
`file:line: reason`; a bad line contributes nothing, the good lines are kept. A line's import key
is the sha256 of its content, so importing a file twice adds nothing (see
`store.audit.add_imported_reviews`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.records import EDITABLE_FIELDS, VERDICTS
from pipeline.store import Workspace
from pipeline.store.audit import ImportedReview, exported_reviews, instance_criteria

__all__ = ["FIELDS", "ReadResult", "export_reviews", "read_reviews", "review_line", "write_reviews"]

REQUIRED = ("instance_id", "verdict", "reviewer")
FIELDS = (*REQUIRED, "reason", "criteria", "edits")


@dataclass
class ReadResult:
    """The valid reviews of a file, in file order, and one `file:line: reason` per bad line, in
    line order."""

    reviews: list[ImportedReview] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _key(r: dict[str, Any]) -> str:
    text = json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _criterion_error(name: str, passed: Any) -> str:
    """Why `criteria[name] = passed` is bad ("" when it is fine)."""
    if not isinstance(passed, bool):
        return f"criteria[{name!r}] must be true or false, got {json.dumps(passed)}"
    return ""


def _edit_error(name: str, text: Any) -> str:
    """Why `edits[name] = text` is bad ("" when it is fine)."""
    if name not in EDITABLE_FIELDS:
        return f"cannot edit {name!r} (editable: {', '.join(EDITABLE_FIELDS)})"
    if not isinstance(text, str):
        return f"edits[{name!r}] must be a string, got {type(text).__name__}"
    return ""


def _check(obj: Any) -> tuple[dict[str, Any] | None, str]:
    """(the line's normalised content, "") or (None, why it is bad); no workspace facts yet."""
    if not isinstance(obj, dict):
        return None, f"expected a JSON object, got {type(obj).__name__}"
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        return None, f"unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})"
    for name in REQUIRED:
        if name not in obj:
            return None, f"missing field {name!r}"
    iid, verdict, reviewer = obj["instance_id"], obj["verdict"], obj["reviewer"]
    if not isinstance(iid, str) or not iid:
        return None, "instance_id must be a non-empty string"
    if verdict not in VERDICTS:
        return None, f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}"
    if not isinstance(reviewer, str) or not reviewer.strip():
        return None, "reviewer must be a non-empty string"
    reason = obj.get("reason", "")
    if not isinstance(reason, str):
        return None, f"reason must be a string, got {type(reason).__name__}"
    criteria, edits = obj.get("criteria", {}), obj.get("edits", {})
    for key, value, shape, entry_error in (
        ("criteria", criteria, "{name: true | false}", _criterion_error),
        ("edits", edits, "{field: text}", _edit_error),
    ):
        if not isinstance(value, dict):
            return None, f"{key} must be an object {shape}"
        for name, entry in value.items():
            if error := entry_error(name, entry):
                return None, error
    return {
        "instance_id": iid,
        "verdict": verdict,
        "reviewer": reviewer.strip(),
        "reason": reason,
        "criteria": dict(criteria),
        "edits": dict(edits),
    }, ""


def read_reviews(ws: Workspace, path: Path) -> ReadResult:
    """Parse and validate a reviews JSONL file against the workspace (blank lines are skipped).

    Bad lines: not JSON, not an object, an unknown or missing field, a wrong type, a verdict other
    than accept or reject, an unknown instance, a criterion the judge did not answer for that
    instance, a field that cannot be edited, or a repeat of an earlier line of the file.
    Raises OSError when the file cannot be read.
    """
    out = ReadResult()
    bad: list[tuple[int, str]] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                bad.append((number, f"bad JSON: {e.msg} (column {e.colno})"))
                continue
            content, why = _check(obj)
            if content is None:
                bad.append((number, why))
                continue
            parsed.append((number, content))
    known = instance_criteria(ws, (c["instance_id"] for _, c in parsed))
    seen: dict[str, int] = {}
    for number, c in parsed:
        iid = c["instance_id"]
        if iid not in known:
            bad.append((number, f"unknown instance {iid!r}"))
            continue
        unknown = sorted(set(c["criteria"]) - known[iid])
        if unknown:
            answered = ", ".join(sorted(known[iid])) or "none"
            bad.append(
                (number, f"unknown criterion {unknown[0]!r} for this instance (judged: {answered})")
            )
            continue
        key = _key(c)
        if key in seen:
            bad.append((number, f"duplicate of line {seen[key]}"))
            continue
        seen[key] = number
        out.reviews.append(ImportedReview(**c, key=key))
    out.errors = [f"{path}:{number}: {why}" for number, why in sorted(bad)]
    return out


def review_line(r: ImportedReview) -> dict[str, Any]:
    """One review as a JSONL object; optional fields only when they say something."""
    out: dict[str, Any] = {
        "instance_id": r.instance_id,
        "verdict": r.verdict,
        "reviewer": r.reviewer,
    }
    if r.reason:
        out["reason"] = r.reason
    if r.criteria:
        out["criteria"] = dict(sorted(r.criteria.items()))
    if r.edits:
        out["edits"] = dict(sorted(r.edits.items()))
    return out


def write_reviews(path: Path, reviews: Iterable[ImportedReview]) -> int:
    """Write reviews as JSONL (UTF-8, one object a line); returns how many. The file is written
    whole to a temporary name, then renamed: an interrupted export leaves no half file."""
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in reviews:
            fh.write(json.dumps(review_line(r), ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(path)
    return count


def export_reviews(ws: Workspace, path: Path) -> int:
    """Every effective review of the workspace to `path` (see `write_reviews`)."""
    return write_reviews(path, exported_reviews(ws))
