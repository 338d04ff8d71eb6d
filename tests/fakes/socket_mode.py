"""A local stand-in for Slack's Socket Mode WebSocket server (127.0.0.1 only).

Register it with a FakeSlack (``apps.connections.open`` then hands out its URL). Each connection
gets Slack's ``hello``; ``send()`` delivers an envelope on the newest connection; the client's
acknowledgements are recorded by envelope id; ``drop()`` closes the connection the way Slack
does when it rotates connections.
"""
from __future__ import annotations

import itertools
import json
import threading
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


class FakeSocketMode:
    def __init__(self):
        self.connections: list[ServerConnection] = []
        self.acks: dict[str, dict] = {}
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self.server = serve(self._serve, "127.0.0.1", 0, compression=None)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"

    def __enter__(self) -> "FakeSocketMode":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()

    def _serve(self, ws: ServerConnection):
        ws.send(json.dumps({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": "A0001"}}))
        with self._cond:
            self.connections.append(ws)
            self._cond.notify_all()
        try:
            for message in ws:
                ack = json.loads(message)
                with self._cond:
                    self.acks[ack["envelope_id"]] = ack
                    self._cond.notify_all()
        except ConnectionClosed:
            pass

    def send(self, kind: str, payload: dict, retry_attempt: int = 0) -> str:
        """Deliver ``payload`` as an envelope of ``kind`` (``events_api``, ``slash_commands``,
        ``interactive``); returns its envelope id."""
        envelope_id = f"env-{next(self._ids)}"
        self.connections[-1].send(json.dumps({
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""}))
        return envelope_id

    def drop(self):
        """Close the newest connection from the server's side."""
        self.connections[-1].close()

    def _wait(self, ready, what: str, timeout: float):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                self._cond.wait(left)

    def wait_connections(self, count: int, timeout: float = 30):
        self._wait(lambda: len(self.connections) >= count, f"{count} connections", timeout)

    def wait_ack(self, envelope_id: str, timeout: float = 30) -> dict:
        self._wait(lambda: envelope_id in self.acks, f"the ack of {envelope_id}", timeout)
        return self.acks[envelope_id]
