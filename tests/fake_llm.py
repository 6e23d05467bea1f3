"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for tests and demos.

    with FakeLLM(answer="```diff\n...\n```") as llm:
        profile = SimpleNamespace(base_url=llm.base_url, model="fake", api_key_env="KEY")
        ...
        llm.requests[0]["headers"]["Authorization"]

`answer` is the reply text, or a function of the request body returning it. Set `status`
(and `error_body`) to make it fail, `delay` to make it slow.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


class FakeLLM:
    def __init__(self, answer: str | Callable[[dict[str, Any]], str] = "", *, status: int = 200,
                 error_body: str = '{"error": {"message": "internal error"}}', delay: float = 0.0,
                 usage: dict[str, int] | None = None):
        self.answer = answer
        self.status = status
        self.error_body = error_body
        self.delay = delay
        self.usage = usage if usage is not None else {"prompt_tokens": 120, "completion_tokens": 30}
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.status != 200:
                    self._send(fake.status, fake.error_body.encode())
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, b'{"error": "not found"}')
                    return
                text = fake.answer(body) if callable(fake.answer) else fake.answer
                reply = {
                    "id": "chatcmpl-fake", "object": "chat.completion", "model": (body or {}).get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {**fake.usage, "total_tokens": sum(fake.usage.values())},
                }
                self._send(200, json.dumps(reply).encode())

            def _send(self, code: int, data: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
