"""One embedding cache per workspace: a text is embedded once per model key, whichever stage asks
(embed, the offline judge, decontaminate), with the real model behind a call-counting wrapper."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from test_export_helpers import add_instance

from pipeline.cli.steps import Resources
from pipeline.config import DecontaminateConfig, EmbedConfig
from pipeline.embedding import Encoder, encode, model_key
from pipeline.llm.base import NoJournal
from pipeline.llm.offline.judge import OfflineJudge
from pipeline.llm.render import Draft, judge_request
from pipeline.prompts import load_prompts
from pipeline.stages.decontaminate import decontaminate, load_benchmarks
from pipeline.store import Workspace
from pipeline.store.vectors import cached_encode, count_embedding_rows

KEY = model_key(EmbedConfig())


class CountingEncoder:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.texts: list[str] = []

    def get_embedding_dimension(self) -> int:
        get = getattr(self.model, "get_embedding_dimension", None)
        return int((get or self.model.get_sentence_embedding_dimension)())

    def encode(self, texts: Sequence[str], **kwargs: Any) -> Any:
        self.texts += list(texts)
        return self.model.encode(list(texts), **kwargs)


class CountingResources(Resources):
    """`Resources` whose model is the counting wrapper; counts how often the model is asked for."""

    def __init__(self, ws: Workspace, counter: CountingEncoder) -> None:
        super().__init__(ws)
        self.counter = counter
        self.loads = 0

    def model(self) -> Encoder:
        self.loads += 1
        return self.counter  # type: ignore[return-value]


def _embed_with(counter: CountingEncoder) -> Any:
    def embed(texts: list[str]) -> npt.NDArray[np.float32]:
        return encode(counter, texts)  # type: ignore[arg-type]

    return embed


@pytest.mark.slow
def test_a_text_is_embedded_once_per_model_key(ws: Workspace, embedding_model: Any) -> None:
    counter = CountingEncoder(embedding_model)
    texts = ["def add(a, b):\n    return a + b", "Sort a list.", "def add(a, b):\n    return a + b"]
    first = cached_encode(ws, KEY, texts, _embed_with(counter))
    assert sorted(counter.texts) == sorted(set(texts))  # the repeated text embedded once
    assert first.shape == (3, 384) and first.dtype == np.float32
    direct = encode(embedding_model, texts)
    assert float((first * direct).sum(axis=1).min()) > 0.9999
    assert np.array_equal(first[0], first[2])

    counter.texts.clear()
    again = cached_encode(ws, KEY, ["Sort a list.", "Reverse a string."], _embed_with(counter))
    assert counter.texts == ["Reverse a string."]  # only the new text
    assert np.allclose(again[0], first[1])
    assert count_embedding_rows(ws, KEY) == 3

    counter.texts.clear()
    cached_encode(ws, KEY, texts, _embed_with(counter))
    assert counter.texts == []
    other = cached_encode(ws, f"{KEY}__onnx-int8", texts[:1], _embed_with(counter))
    assert counter.texts == texts[:1]  # another model key has its own vectors
    assert other.shape == (1, 384)


def test_an_encoder_that_loses_rows_is_an_error(ws: Workspace) -> None:
    def short(texts: list[str]) -> npt.NDArray[np.float32]:
        return np.ones((len(texts) - 1, 4), dtype=np.float32)

    with pytest.raises(ValueError, match="returned 1 vectors for 2 texts"):
        cached_encode(ws, KEY, ["a", "b"], short)
    assert count_embedding_rows(ws, KEY) == 0


@pytest.mark.slow
def test_judge_and_decontaminate_embed_nothing_the_second_time(
    ws: Workspace, embedding_model: Any
) -> None:
    items = load_benchmarks(DecontaminateConfig())[:5]
    add_instance(
        ws, "i1", instruction="Add two numbers.", output="def add(a, b):\n    return a + b"
    )
    add_instance(ws, "i2", instruction=items[0].prompt, output=items[0].text)
    cfg = DecontaminateConfig(force=True)

    counter = CountingEncoder(embedding_model)
    res = CountingResources(ws, counter)
    first = decontaminate(ws, res.encode, cfg=cfg, model_name=KEY, items=items)
    assert len(counter.texts) == 2 + 5  # two instances, five benchmark problems

    prompts = load_prompts()
    draft = Draft("code_generation", "python", "Write `add(a, b)` that returns a + b.", "",
                  "def add(a, b):\n    return a + b\n")  # fmt: skip
    request = judge_request(draft, prompts=prompts, model="offline", max_tokens=10)
    judge = res.llm("judge").provider
    assert isinstance(judge, OfflineJudge)
    [(_, answer)] = list(judge.answer({"k": request}, NoJournal()))
    embedded = len(counter.texts)
    assert embedded > 7

    # a new command (fresh resources) redoing both: the model is not even asked for
    counter.texts.clear()
    fresh = CountingResources(ws, counter)
    again = decontaminate(ws, fresh.encode, cfg=cfg, model_name=KEY, items=items)
    assert again.current is False and again.leakage == first.leakage
    [(_, answer2)] = list(fresh.llm("judge").provider.answer({"k": request}, NoJournal()))
    assert answer2.text == answer.text
    assert counter.texts == [] and fresh.loads == 0
    assert count_embedding_rows(ws, KEY) == embedded
