"""The filter stage: length bounds, the Code Alpaca blacklist, exact and near duplicates.

Rules run in a fixed order and a sample keeps the first rule that dropped it, so the funnel can
show what each rule removed. Duplicates are resolved in ingestion order: the first occurrence is
kept. Filtering is recomputed from scratch whenever the filter settings or the set of samples
change, so editing a rule in `wavecurate.toml` and running `filter` again re-filters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from pipeline.config import FilterConfig
from pipeline.progress import Progress, no_progress
from pipeline.records import StoredSample
from pipeline.store import Workspace
from pipeline.store.samples import iter_samples, set_dropped

# The order rules are applied in; `dropped_by` holds one of these names.
RULES = ("too_short", "too_long", "blacklist", "exact_duplicate", "near_duplicate")
BLACKLIST_FIELDS = ("docstring", "code", "code_nodoc", "func_name")

_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class FilterResult:
    """What a filter run decided: rule per sample id (None = kept); `current`: nothing changed
    since the last run, so it decided nothing new (the decisions are the stored ones)."""

    decisions: dict[str, str | None]
    current: bool = False

    @property
    def kept(self) -> int:
        return sum(1 for rule in self.decisions.values() if rule is None)

    def dropped(self) -> dict[str, int]:
        out = dict.fromkeys(RULES, 0)
        for rule in self.decisions.values():
            if rule is not None:
                out[rule] += 1
        return {k: v for k, v in out.items() if v}


def blacklist_matcher(words: Sequence[str]) -> Callable[[str], str | None]:
    """A function returning the first blacklisted word or phrase found in a text, else None.

    Whole words only, any case; a phrase matches across any whitespace ("go  to" matches "go to").
    """
    parts = [r"\s+".join(re.escape(w) for w in word.split()) for word in words if word.strip()]
    if not parts:
        return lambda text: None
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)

    def match(text: str) -> str | None:
        m = pattern.search(text)
        return m.group(0) if m else None

    return match


def shingles(code: str, size: int) -> set[bytes]:
    """Token shingles of `code` (word and punctuation tokens), as bytes for MinHash."""
    tokens = _TOKEN.findall(code)
    if len(tokens) <= size:
        return {" ".join(tokens).encode()}
    return {" ".join(tokens[i : i + size]).encode() for i in range(len(tokens) - size + 1)}


def decide(samples: Iterable[StoredSample], cfg: FilterConfig) -> dict[str, str | None]:
    """Apply the rules to samples in ingestion order; return {sample id: first rule or None}."""
    for name in cfg.blacklist_fields:
        if name not in BLACKLIST_FIELDS:
            raise ValueError(
                f"filter.blacklist_fields: unknown field {name!r} "
                f"(known: {', '.join(BLACKLIST_FIELDS)})"
            )
    if not 0.0 < cfg.near_duplicate_threshold <= 1.0:
        raise ValueError("filter.near_duplicate_threshold must be in (0, 1]")
    blacklisted = blacklist_matcher(cfg.blacklist)
    decisions: dict[str, str | None] = {}
    survivors: list[StoredSample] = []
    seen_hashes: set[str] = set()
    for s in samples:
        n = len(s.code)
        rule: str | None = None
        if n < cfg.min_chars:
            rule = "too_short"
        elif n > cfg.max_chars:
            rule = "too_long"
        elif any(blacklisted(getattr(s, f)) for f in cfg.blacklist_fields):
            rule = "blacklist"
        elif s.sha256 in seen_hashes:
            rule = "exact_duplicate"
        else:
            seen_hashes.add(s.sha256)
            survivors.append(s)
        decisions[s.id] = rule
    for sid in near_duplicates(survivors, cfg):
        decisions[sid] = "near_duplicate"
    return decisions


def near_duplicates(samples: Sequence[StoredSample], cfg: FilterConfig) -> list[str]:
    """Ids of samples whose code is a near duplicate (MinHash LSH) of an earlier kept sample."""
    if cfg.near_duplicate_threshold >= 1.0 or not samples:
        return []
    perms = cfg.minhash_permutations
    lsh = MinHashLSH(threshold=cfg.near_duplicate_threshold, num_perm=perms)
    hashes = MinHash.bulk((shingles(s.code, cfg.shingle_size) for s in samples), num_perm=perms)
    kept: dict[str, MinHash] = {}
    dropped: list[str] = []
    for s, mh in zip(samples, hashes, strict=True):
        # LSH candidates are probable matches; confirm with the estimated Jaccard itself
        if any(mh.jaccard(kept[key]) >= cfg.near_duplicate_threshold for key in lsh.query(mh)):
            dropped.append(s.id)
        else:
            lsh.insert(s.id, mh)
            kept[s.id] = mh
    return dropped


def filter_samples(
    ws: Workspace, *, cfg: FilterConfig, progress: Progress = no_progress
) -> FilterResult:
    """Run the filter stage on every sample in the workspace; record a `runs` row.

    Current (returns `current=True`, records nothing) when neither the settings nor the samples
    changed since the last run, unless `cfg.force`. `progress` counts samples decided.
    """
    samples = list(iter_samples(ws))
    inputs = [len(samples), samples[-1].seq if samples else -1]
    with ws.stage("filter", cfg, inputs, force=cfg.force) as run:
        if run.current:
            return FilterResult({s.id: s.dropped_by for s in samples}, current=True)
        bar = progress(total=len(samples), desc="filter", unit="sample")
        decisions = decide(samples, cfg)
        bar.update(len(samples))
        bar.close()
        changed = {s.id: decisions[s.id] for s in samples if s.dropped_by != decisions[s.id]}
        set_dropped(ws, changed)
        result = FilterResult(decisions)
        run.counts.update(
            {"samples": len(samples), "kept": result.kept, "dropped": result.dropped(),
             "changed": len(changed)}
        )  # fmt: skip
    return result
