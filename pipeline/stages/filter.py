"""The filter stage: length bounds, the Code Alpaca blacklist, exact and near duplicates.

Rules run in a fixed order and a sample keeps the first rule that dropped it, so the funnel can
show what each rule removed. Duplicates are resolved in ingestion order: the first occurrence is
kept. Filtering is recomputed from scratch whenever the filter settings or the set of samples
change, so editing a rule in `wavecurate.toml` and running `filter` again re-filters.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH

from pipeline.config import FilterConfig
from pipeline.progress import Progress, no_progress
from pipeline.records import StoredSample
from pipeline.store import Workspace
from pipeline.store.samples import iter_samples, sample_extent, set_dropped, stored_decisions

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


SIGNATURE_CHUNK = 4096  # samples per MinHash.bulk call while streaming


def decide(
    samples: Iterable[StoredSample], cfg: FilterConfig, workdir: Path | None = None
) -> dict[str, str | None]:
    """Apply the rules to samples in ingestion order; return {sample id: first rule or None}.

    Streams: a sample's text is dropped as soon as its rules ran and its MinHash signature is
    written to a memory-mapped file in `workdir` (a temporary folder when None), so memory holds
    ids, exact-duplicate hashes and LSH band keys, never every text or signature object.
    """
    for name in cfg.blacklist_fields:
        if name not in BLACKLIST_FIELDS:
            raise ValueError(
                f"filter.blacklist_fields: unknown field {name!r} "
                f"(known: {', '.join(BLACKLIST_FIELDS)})"
            )
    if not 0.0 < cfg.near_duplicate_threshold <= 1.0:
        raise ValueError("filter.near_duplicate_threshold must be in (0, 1]")
    blacklisted = blacklist_matcher(cfg.blacklist)
    near = cfg.near_duplicate_threshold < 1.0
    decisions: dict[str, str | None] = {}
    seen_hashes: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="wavecurate-filter-", dir=workdir) as tmp:
        signatures = _Signatures(Path(tmp), cfg) if near else None
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
                if signatures is not None:
                    signatures.add(s.id, s.code)
            decisions[s.id] = rule
        if signatures is not None:
            for sid in signatures.near_duplicates():
                decisions[sid] = "near_duplicate"
            signatures.close()
    return decisions


class _Signatures:
    """MinHash signatures of the survivors, in order, on disk; LSH band keys in memory.

    The decision equals `datasketch.MinHashLSH` queried in order with each survivor and inserted
    when kept (the textbook loop): a survivor is a near duplicate when an earlier *kept* survivor
    shares an LSH band with it (same `b` bands of `r` rows as `MinHashLSH` picks for the
    threshold) and their estimated Jaccard reaches the threshold. Memory: 8 * b bytes per
    survivor for band keys (a 64-bit mix of the band; a collision only adds a candidate, which the
    Jaccard test then rejects) plus, at the end, three int32 per survivor and band.
    """

    def __init__(self, folder: Path, cfg: FilterConfig) -> None:
        self.cfg = cfg
        self.perms = cfg.minhash_permutations
        lsh = MinHashLSH(threshold=cfg.near_duplicate_threshold, num_perm=self.perms)
        self.b, self.r = int(lsh.b), int(lsh.r)
        rng = np.random.default_rng(0x5EED)
        self.mix = rng.integers(1, 2**63, size=(self.b, self.r), dtype=np.uint64) | np.uint64(1)
        self.path = folder / "signatures.u64"
        self.file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self.ids: list[str] = []
        self.keys: list[npt.NDArray[np.uint64]] = []
        self.pending: list[str] = []

    def add(self, sample_id: str, code: str) -> None:
        self.ids.append(sample_id)
        self.pending.append(code)
        if len(self.pending) >= SIGNATURE_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        shingled = (shingles(code, self.cfg.shingle_size) for code in self.pending)
        hashes = MinHash.bulk(shingled, num_perm=self.perms)
        sig = np.stack([np.asarray(m.hashvalues, dtype=np.uint64) for m in hashes])
        self.file.write(sig.tobytes())
        bands = sig[:, : self.b * self.r].reshape(len(sig), self.b, self.r)
        with np.errstate(over="ignore"):
            self.keys.append((bands * self.mix).sum(axis=2, dtype=np.uint64))
        self.pending.clear()

    def near_duplicates(self) -> list[str]:
        self._flush()
        self.file.close()
        n = len(self.ids)
        if n == 0:
            return []
        keys = np.concatenate(self.keys)  # (n, b)
        self.keys.clear()
        sig = np.memmap(self.path, dtype=np.uint64, mode="r", shape=(n, self.perms))
        # per band: rows sorted by key (stable: equal keys stay in ingestion order), each row's
        # position in that order, and where its run of equal keys starts
        orders, positions, starts = [], [], []
        colliding = np.zeros(n, dtype=bool)
        for t in range(self.b):
            order = np.argsort(keys[:, t], kind="stable").astype(np.int32)
            sorted_keys = keys[order, t]
            new_run = np.ones(n, dtype=bool)
            new_run[1:] = sorted_keys[1:] != sorted_keys[:-1]
            run_start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0)).astype(np.int32)
            pos = np.empty(n, dtype=np.int32)
            pos[order] = np.arange(n, dtype=np.int32)
            colliding[order[~new_run]] = True  # an earlier row shares this band
            orders.append(order)
            positions.append(pos)
            starts.append(run_start)
        del keys
        kept = np.ones(n, dtype=bool)
        threshold = self.cfg.near_duplicate_threshold
        dropped: list[str] = []
        for i in np.flatnonzero(colliding):
            mine = np.asarray(sig[i])
            for t in range(self.b):
                p = positions[t][i]
                earlier = orders[t][starts[t][p] : p]
                earlier = earlier[kept[earlier]]
                if (
                    earlier.size
                    and (
                        (np.asarray(sig[earlier]) == mine).sum(axis=1) / self.perms >= threshold
                    ).any()
                ):
                    kept[i] = False
                    dropped.append(self.ids[i])
                    break
        del sig
        return dropped

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()


def filter_samples(
    ws: Workspace, *, cfg: FilterConfig, progress: Progress = no_progress
) -> FilterResult:
    """Run the filter stage on every sample in the workspace; record a `runs` row.

    Current (returns `current=True`, records nothing) when neither the settings nor the samples
    changed since the last run, unless `cfg.force`. `progress` counts samples decided.
    """
    count, last_seq = sample_extent(ws)
    inputs = [count, last_seq]
    with ws.stage("filter", cfg, inputs, force=cfg.force) as run:
        if run.current:
            return FilterResult(stored_decisions(ws), current=True)
        bar = progress(total=count, desc="filter", unit="sample")
        before: dict[str, str | None] = {}

        def read() -> Iterable[StoredSample]:
            for s in iter_samples(ws):
                before[s.id] = s.dropped_by
                bar.update()
                yield s

        decisions = decide(read(), cfg, workdir=ws.root)
        bar.close()
        changed = {sid: rule for sid, rule in decisions.items() if before[sid] != rule}
        set_dropped(ws, changed)
        result = FilterResult(decisions)
        run.counts.update(
            {"samples": count, "kept": result.kept, "dropped": result.dropped(),
             "changed": len(changed)}
        )  # fmt: skip
    return result
