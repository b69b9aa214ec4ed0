"""A light, acknowledged-write load for the fault drills: one thread that posts to the API a few
times a second as one user, recording every answer with its time, so a drill can check that
errors happened only while a service was down and that every acknowledged (201) post exists."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from support.client import Client, post_auth


@dataclass(frozen=True)
class Answer:
    started: float  # time.time() on the controller
    finished: float
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    post_id: int | None


class Writer:
    """POST /api/v1/posts/ every `interval` seconds until stopped; answers in `answers`."""

    def __init__(self, client: Client, interval: float = 0.25):
        self.client, self.interval = client, interval
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        username = f"faults_{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(16)
        registered = post_auth(
            client,
            "/api/v1/auth/register/",
            {"username": username, "password": password, "email": f"{username}@e.test"},
        )
        assert registered.status == 201, registered.body
        token = post_auth(
            client, "/api/v1/auth/token/", {"username": username, "password": password}
        )
        assert token.status == 200, token.body
        self._token = token.json()["access"]

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            started = time.time()
            resp = self.client.request(
                "/api/v1/posts/",
                method="POST",
                token=self._token,
                json_body={"title": f"fault drill {n}", "content": "acknowledged write"},
            )
            post_id = resp.json()["id"] if resp.status == 201 else None
            self.answers.append(Answer(started, time.time(), resp.status, post_id))
            self._stop.wait(self.interval)

    def acknowledged(self) -> list[int]:
        return [a.post_id for a in self.answers if a.post_id is not None]

    def first_acknowledged_after(self, moment: float) -> Answer | None:
        """The first 201 whose request started at or after `moment` (time.time())."""
        return next((a for a in self.answers if a.status == 201 and a.started >= moment), None)

    def errors_outside(self, windows: list[tuple[float, float]]) -> list[Answer]:
        """Failed answers whose request did not overlap any (start, end) window."""
        return [
            a
            for a in self.answers
            if a.status != 201
            and not any(a.started <= end and a.finished >= start for start, end in windows)
        ]
