"""How close the Anthropic provider gets to its concurrency bound.

The loopback server (`tests/fake_anthropic.py`, real HTTP, the real SDK) adds 200 ms to every
answer. With 16 calls in flight the ideal is 16 / 0.2 s = 80 calls per second; the benchmark makes
`--calls` distinct calls through the whole path a stage uses (cache lookup, provider, one write
transaction per answer into a real workspace) and prints the rate reached as a share of the ideal.
Aim: at least 0.70.

    python benchmarks/bench_llm_concurrency.py [--calls 480] [--concurrency 16] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anthropic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_anthropic import FakeAnthropic

from pipeline.config import LLMConfig
from pipeline.llm.anthropic import AnthropicProvider
from pipeline.llm.base import Request
from pipeline.llm.cache import CallResult, run_calls
from pipeline.store import Workspace

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def measure(server: FakeAnthropic, calls: int, concurrency: int, tag: str) -> float:
    """Seconds to answer `calls` distinct requests at `concurrency`."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        client = anthropic.Anthropic(api_key="bench", base_url=server.url, max_retries=0)
        provider = AnthropicProvider(client, concurrency=concurrency, backoff_s=0.05)
        requests = [
            Request(
                "judge",
                "claude-haiku-4-5",
                "bench",
                "You judge.",
                f"{tag} item {i}",
                SCHEMA,
                {},
                64,
            )
            for i in range(calls)
        ]
        answered = 0

        def on_result(index: int, result: CallResult) -> None:
            nonlocal answered
            answered += int(result.answer.ok)

        started = time.perf_counter()
        stats = run_calls(ws, provider, requests, on_result, prices=LLMConfig().prices)
        seconds = time.perf_counter() - started
        ws.close()
    assert answered == calls and stats.calls == calls, (answered, stats)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=480)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds the server adds")
    args = parser.parse_args()
    with FakeAnthropic(delay=args.delay) as server:
        measure(server, args.concurrency, args.concurrency, "warm-up")
        seconds = measure(server, args.calls, args.concurrency, "run")
        in_flight = server.max_in_flight
    rate = args.calls / seconds
    ideal = args.concurrency / args.delay
    print(
        f"calls: {args.calls}, concurrency: {args.concurrency}, delay: {args.delay * 1000:.0f} ms"
    )
    print(f"most calls in flight at the server: {in_flight}")
    print(f"reached: {rate:.1f} calls/s in {seconds:.2f} s; ideal: {ideal:.1f} calls/s")
    print(f"ratio: {rate / ideal:.3f}")


if __name__ == "__main__":
    main()
