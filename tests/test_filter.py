from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import FilterConfig
from pipeline.records import Sample
from pipeline.stages.filter import blacklist_matcher, filter_samples, shingles
from pipeline.store import Workspace
from pipeline.store.samples import insert_samples, iter_samples
from pipeline.store.status import funnel

BODY = (
    "    total = 0\n"
    "    for item in items:\n"
    "        if item is None or item < 0:\n"
    "            continue\n"
    "        total += item * weight\n"
    "    return round(total / max(len(items), 1), 4)\n"
)


def _sample(name: str, code: str, doc: str = "Add things up.") -> Sample:
    return Sample("tree", "python", "r", "m.py", name, 1, doc, code, code)


def _fn(name: str, body: str = BODY) -> str:
    return f"def {name}(items, weight):\n{body}"


def _rules(ws: Workspace) -> dict[str, str | None]:
    return {s.func_name: s.dropped_by for s in iter_samples(ws)}


def test_each_rule_drops_what_it_should(ws: Workspace) -> None:
    distinct = (
        "    acc = []\n    for k, v in sorted(pairs.items()):\n        if v is not None:\n"
        "            acc.append(f'{k}={v!r}')\n    return '&'.join(acc)\n"
    )
    insert_samples(
        ws,
        [
            _sample("short", "def f(): pass"),
            _sample("long", _fn("long", BODY * 20)),
            _sample("black_doc", _fn("black_doc"), doc="Draw the totals."),
            _sample("black_code", _fn("black_code", BODY.replace("total", "map_total"))),
            _sample("first", _fn("first")),
            _sample("exact", _fn("first").replace("    ", "\t")),  # same after whitespace
            _sample("near", _fn("first") + "    # done\n"),
            _sample("other", f"def other(pairs):\n{distinct}"),
        ],
    )
    result = filter_samples(ws, cfg=FilterConfig())
    rules = _rules(ws)
    assert rules == {
        "short": "too_short",
        "long": "too_long",
        "black_doc": "blacklist",
        # `map_total` is one word: the blacklist matches whole words only
        "black_code": rules["black_code"],
        "first": None,
        "exact": "exact_duplicate",
        "near": "near_duplicate",
        "other": None,
    }
    assert rules["black_code"] != "blacklist"
    assert result.dropped()["too_short"] == 1
    f = funnel(ws)
    assert f["dropped"]["exact_duplicate"] == 1 and f["dropped"]["near_duplicate"] == 1


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("Return the Image size", "Image"),
        ("plots a PLOT", "PLOT"),
        ("go to the end", "go to"),
        ("Go   to line", "Go   to"),
        ("imagery and mapping", None),  # not whole words
        ("profile_files", None),  # underscores join words
        ("read files.", "files"),
    ],
)
def test_blacklist_whole_words_any_case(text: str, hit: str | None) -> None:
    assert blacklist_matcher(FilterConfig().blacklist)(text) == hit


def test_blacklist_fields_are_configurable(ws: Workspace) -> None:
    insert_samples(ws, [_sample("a", _fn("a"), doc="Open the file and add.")])
    filter_samples(ws, cfg=FilterConfig())
    assert _rules(ws)["a"] == "blacklist"
    filter_samples(ws, cfg=FilterConfig(blacklist_fields=["code"]))
    assert _rules(ws)["a"] is None


def test_unknown_blacklist_field_is_a_clear_error(ws: Workspace) -> None:
    insert_samples(ws, [_sample("a", _fn("a"))])
    with pytest.raises(ValueError, match="blacklist_fields: unknown field 'body'"):
        filter_samples(ws, cfg=FilterConfig(blacklist_fields=["body"]))


def test_changing_a_rule_refilters_and_unchanged_run_skips(ws: Workspace) -> None:
    insert_samples(ws, [_sample("a", _fn("a")), _sample("b", "def b(x):\n    return x + 1\n")])
    first = filter_samples(ws, cfg=FilterConfig())
    assert not first.current and first.kept == 1
    assert filter_samples(ws, cfg=FilterConfig()).current
    loose = filter_samples(ws, cfg=FilterConfig(min_chars=10))
    assert not loose.current and loose.kept == 2
    # a new sample invalidates the last run too
    insert_samples(ws, [_sample("c", _fn("c", BODY.replace("weight", "factor")))])
    assert not filter_samples(ws, cfg=FilterConfig(min_chars=10)).current


def test_first_occurrence_of_a_duplicate_is_kept(ws: Workspace) -> None:
    code = _fn("same")
    insert_samples(
        ws,
        [_sample("one", code), Sample("stdlib", "python", "x", "y.py", "two", 1, "d", code, code)],
    )
    filter_samples(ws, cfg=FilterConfig())
    assert _rules(ws) == {"one": None, "two": "exact_duplicate"}


def test_near_duplicate_threshold_setting(ws: Workspace) -> None:
    insert_samples(
        ws, [_sample("first", _fn("first")), _sample("near", _fn("first") + "    # done\n")]
    )
    filter_samples(ws, cfg=FilterConfig(near_duplicate_threshold=1.0))
    assert _rules(ws)["near"] is None
    filter_samples(ws, cfg=FilterConfig(near_duplicate_threshold=0.85))
    assert _rules(ws)["near"] == "near_duplicate"


def test_shingles_are_token_windows() -> None:
    assert shingles("a b", 5) == {b"a b"}
    assert len(shingles("a = b + c", 2)) == 4


def test_filter_config_errors_name_the_key(tmp_path: Path) -> None:
    from pipeline.config import Config, ConfigError

    (tmp_path / "c.toml").write_text("[filter]\nmin_chars = 'ten'\n")
    with pytest.raises(ConfigError, match=r"c.toml: \[filter\] min_chars must be int"):
        Config.load(tmp_path / "c.toml")
    (tmp_path / "c.toml").write_text("[filter]\nmin_char = 10\n")
    with pytest.raises(ConfigError, match="unknown key 'min_char'"):
        Config.load(tmp_path / "c.toml")


def test_run_only_options_are_flags_not_settings() -> None:
    """`force` and the like are set by the CLI: never written, rejected in the file, not hashed."""
    from pipeline.config import Config, ConfigError, config_hash, render_default

    assert "force" not in render_default() and "retry_failed" not in render_default()
    with pytest.raises(ConfigError, match=r"\[filter\] 'force' is a run-time option"):
        Config.from_dict({"filter": {"force": True}})
    assert config_hash(FilterConfig(force=True)) == config_hash(FilterConfig())
    assert config_hash(FilterConfig(min_chars=1)) != config_hash(FilterConfig())


def _textbook_near_duplicates(codes: list[str], cfg: FilterConfig) -> set[int]:
    """The loop the streaming filter replaced: query MinHashLSH in order, insert when kept."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=cfg.near_duplicate_threshold, num_perm=cfg.minhash_permutations)
    kept: dict[str, MinHash] = {}
    dropped: set[int] = set()
    for i, code in enumerate(codes):
        mh = MinHash(num_perm=cfg.minhash_permutations)
        mh.update_batch(list(shingles(code, cfg.shingle_size)))
        if any(mh.jaccard(kept[k]) >= cfg.near_duplicate_threshold for k in lsh.query(mh)):
            dropped.add(i)
        else:
            lsh.insert(str(i), mh)
            kept[str(i)] = mh
    return dropped


@pytest.mark.parametrize("threshold", [0.85, 0.6])
def test_streaming_near_duplicates_equal_the_textbook_lsh_loop(
    tmp_path: Path, threshold: float
) -> None:
    """Chains of edits (a near duplicate of a near duplicate that was itself dropped) are where
    'compare only with kept samples' matters; the streaming filter must decide as the loop."""
    import random

    from pipeline.records import StoredSample
    from pipeline.stages.filter import decide

    rng = random.Random(7)
    words = [f"w{i}" for i in range(60)]
    codes: list[str] = []
    for _ in range(400):
        if codes and rng.random() < 0.4:  # edit an earlier one: add or change a line
            lines = rng.choice(codes).split("\n")
            lines.insert(rng.randrange(1, len(lines)), f"    {rng.choice(words)} = 1")
            codes.append("\n".join(lines))
        else:
            body = [f"    {rng.choice(words)} = {rng.choice(words)} + {rng.randrange(9)}"
                    for _ in range(rng.randint(15, 30))]  # fmt: skip
            codes.append("def f(x):\n" + "\n".join(body))
    cfg = FilterConfig(
        min_chars=0, max_chars=10**6, blacklist=[], near_duplicate_threshold=threshold
    )
    samples = [
        StoredSample(
            id=str(i),
            source="tree",
            language="python",
            repo="",
            path="",
            func_name="f",
            line=1,
            docstring="",
            code=c,
            code_nodoc=c,
            url="",
            partition="",
            sha256=f"{i:064x}",
            dropped_by=None,
            seq=i,
        )
        for i, c in enumerate(codes)
    ]
    expected = _textbook_near_duplicates(codes, cfg)
    decisions = decide(samples, cfg, workdir=tmp_path)
    got = {int(sid) for sid, rule in decisions.items() if rule == "near_duplicate"}
    assert len(expected) > 50  # the data really has near duplicates, chains included
    assert got == expected
    assert list(tmp_path.iterdir()) == []  # the signature file is gone
