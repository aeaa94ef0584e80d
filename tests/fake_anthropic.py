"""A loopback server that speaks the Messages and Message Batches APIs, for tests and benchmarks.

The real SDK is pointed at it through `base_url`; nothing in the SDK is patched. Answers are
scripted (`server.script(Reply(...), ...)`, consumed in order of arrival) or built from the
request's JSON schema (a valid generation or judgment). It records every request body, counts the
calls in flight at once, can add a delay to every answer, and simulates prompt caching (the first
sight of a system text is a cache write, later ones are cache reads). Batches can be forgotten
(404 afterwards), expired or cancelled (`forget`, `end_batch`), as the real API does after 24
hours, after 29 days, or on a cancel request (`POST .../cancel`, recorded in `cancels`).

Run it alone (for a subprocess or a manual check): `python tests/fake_anthropic.py [delay_s]`
prints its URL and serves until killed.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer. `status` != 200 sends an API error of `error_type` with `headers`;
    `raw` sends that body verbatim; else a message with `text` (None: built from the schema)."""

    status: int = 200
    text: str | None = None
    stop_reason: str = "end_turn"
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str = "api_error"
    message: str = "scripted error"
    delay: float = 0.0
    raw: bytes | None = None


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_reply(status: int, message: str = "scripted error", **headers: str) -> Reply:
    """An API error reply with the type the real API uses for `status`."""
    return Reply(
        status=status,
        error_type=ERROR_TYPES.get(status, "api_error"),
        message=message,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )


def schema_answer(body: dict[str, Any]) -> str:
    """A valid answer for the request's output schema: a generation or a judgment (all yes)."""
    schema = body.get("output_config", {}).get("format", {}).get("schema", {})
    props = schema.get("properties", {})
    if "instruction" in props:
        user = body["messages"][-1]["content"]
        # the function name is fenced after "Its function name:" (see pipeline.llm.render)
        found = re.search(r"function name:\n<<<BEGIN (\w+)>>>\n(\w+)\n<<<END \1>>>", user)
        name = found.group(2) if found else "f"
        return json.dumps(
            {
                "task": props["task"]["enum"][0],
                "instruction": f"Write a Python function `{name}(x)` that doubles a number.",
                "input": "",
                "output": f"def {name}(x):\n    return 2 * x\n",
            }
        )
    return json.dumps({k: {"rationale": "Checked by the fake.", "answer": "yes"} for k in props})


class FakeAnthropic:
    """The server. Use as a context manager; `url` is its base URL."""

    def __init__(self, delay: float = 0.0, batch_polls: int = 1) -> None:
        self.delay = delay
        self.batch_polls = batch_polls  # polls answered "in_progress" before a batch ends
        self.responder: Callable[[dict[str, Any]], Reply | None] | None = None
        self.requests: list[dict[str, Any]] = []  # bodies of POST /v1/messages
        self.answered: list[dict[str, Any]] = []  # bodies answered with a 200 message
        self.batch_creates: list[dict[str, Any]] = []
        self.cancels: list[str] = []
        self.paths: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.batches: dict[str, dict[str, Any]] = {}
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._systems: set[str] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next /v1/messages requests, in order of arrival."""
        with self._lock:
            self._script.extend(replies)

    def forget(self, batch_id: str | None = None) -> None:
        """Forget one batch (or all): the server answers 404 for it from now on."""
        with self._lock:
            for b in [batch_id] if batch_id else list(self.batches):
                self.batches.pop(b, None)

    def end_batch(
        self, batch_id: str | None = None, how: str = "expired", answered: int = 0
    ) -> None:
        """End a batch (or all) now: its first `answered` requests succeed, the rest are `how`
        (expired | canceled | errored)."""
        with self._lock:
            for b in [batch_id] if batch_id else list(self.batches):
                n = len(self.batches[b]["requests"])
                self.batches[b]["types"] = ["succeeded"] * answered + [how] * (n - answered)

    # -- answers --------------------------------------------------------------------------------
    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._script:
                return self._script.popleft()
        if self.responder is not None:
            reply = self.responder(body)
            if reply is not None:
                return reply
        return Reply()

    def message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        text = reply.text if reply.text is not None else schema_answer(body)
        system = "".join(b.get("text", "") for b in body.get("system", []) or [])
        with self._lock:
            seen = system in self._systems
            self._systems.add(system)
        cached = len(system) // 4
        user = json.dumps(body.get("messages", []))
        return {
            "id": f"msg_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [{"type": "text", "text": text}],
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": len(user) // 4,
                "output_tokens": max(1, len(text) // 4),
                "cache_creation_input_tokens": 0 if seen else cached,
                "cache_read_input_tokens": cached if seen else 0,
            },
        }

    def _result_types(self, batch: dict[str, Any]) -> list[str] | None:
        """Each request's result type once the batch has ended, else None."""
        if batch.get("types") is not None:
            return list(batch["types"])
        if batch["polls"] > self.batch_polls:
            return ["succeeded"] * len(batch["requests"])
        return None

    def _batch_json(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        types = self._result_types(batch)
        ended = types is not None
        n = len(batch["requests"])
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else n,
                **{k: (types or []).count(k) for k in ("succeeded", "errored", "canceled")},
                "expired": (types or []).count("expired"),
            },
            "created_at": "2025-01-01T00:00:00Z",
            "expires_at": "2025-01-02T00:00:00Z",
            "ended_at": "2025-01-01T00:01:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch_id}/results" if ended else None,
        }

    # -- HTTP -----------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as real servers do: no 40 ms delayed-ACK stalls

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None,
                      content_type: str = "application/json") -> None:  # fmt: skip
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.send_header("request-id", f"req_{next(fake._ids)}")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps(value).encode(), headers)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?", 1)[0]
                with fake._lock:
                    fake.paths.append(f"POST {path}")
                if path == "/v1/messages":
                    self._messages(body)
                elif path.startswith("/v1/messages/batches/") and path.endswith("/cancel"):
                    batch_id = path.split("/")[4]
                    with fake._lock:
                        fake.cancels.append(batch_id)
                        known = batch_id in fake.batches
                    if not known:
                        self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                                    "message": batch_id}})  # fmt: skip
                        return
                    fake.end_batch(batch_id, "canceled")
                    self._json(200, fake._batch_json(batch_id))
                elif path == "/v1/messages/batches":
                    batch_id = f"msgbatch_{next(fake._ids)}"
                    with fake._lock:
                        fake.batch_creates.append(body)
                        fake.batches[batch_id] = {"requests": body["requests"], "polls": 0}
                    self._json(200, fake._batch_json(batch_id))
                else:
                    self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                                "message": path}})  # fmt: skip

            def _messages(self, body: dict[str, Any]) -> None:
                with fake._lock:
                    fake.requests.append(body)
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    reply = fake._next_reply(body)
                    time.sleep(fake.delay + reply.delay)
                    if reply.raw is not None:
                        self._send(reply.status, reply.raw, reply.headers)
                    elif reply.status != 200:
                        error = {"type": reply.error_type, "message": reply.message}
                        self._json(reply.status, {"type": "error", "error": error}, reply.headers)
                    else:
                        message = fake.message(body, reply)
                        self._json(200, message, reply.headers)
                        with fake._lock:
                            fake.answered.append(body)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                parts = path.strip("/").split("/")
                with fake._lock:
                    fake.paths.append(f"GET {path}")
                if len(parts) >= 4 and parts[:3] == ["v1", "messages", "batches"]:
                    batch_id = parts[3]
                    if batch_id not in fake.batches:
                        self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                                    "message": batch_id}})  # fmt: skip
                        return
                    if len(parts) == 4:
                        with fake._lock:
                            fake.batches[batch_id]["polls"] += 1
                        self._json(200, fake._batch_json(batch_id))
                        return
                    lines = []
                    batch = fake.batches[batch_id]
                    types = fake._result_types(batch) or []
                    for item, kind in zip(batch["requests"], types, strict=False):
                        result: dict[str, Any] = {"type": kind}
                        if kind == "succeeded":
                            reply = fake.responder(item["params"]) if fake.responder else None
                            result["message"] = fake.message(item["params"], reply or Reply())
                        elif kind == "errored":
                            result["error"] = {"type": "error", "error": {
                                "type": "invalid_request_error", "message": "scripted"}}  # fmt: skip
                        lines.append(json.dumps({"custom_id": item["custom_id"], "result": result}))
                    self._send(200, ("\n".join(lines) + "\n").encode(), None, "application/binary")
                    return
                self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                            "message": path}})  # fmt: skip

        return Handler


if __name__ == "__main__":
    with FakeAnthropic(delay=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0) as server:
        print(server.url, flush=True)
        threading.Event().wait()
