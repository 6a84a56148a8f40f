"""Start the real Rasa server and action server as processes for end-to-end tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: Any = None, raw: bytes | None = None, timeout: float = 30) -> tuple[int, Any]:
    """One HTTP request; returns (status, decoded JSON or text)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, payload = reply.status, reply.read()
    except urllib.error.HTTPError as err:
        status, payload = err.code, err.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode("utf-8", "replace")


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    """Poll ``url`` until it answers 200, failing early if the process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            status, _ = http("GET", url, timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server did not come up in {seconds}s:\n{log.read_text()[-3000:]}")


@dataclass
class Servers:
    """A running Rasa server + action server pair."""

    workdir: Path
    token: str = "e2e-token"
    rasa_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        # channel settings come only from the test: a developer's own WECHAT_*/TELEGRAM_* stay out
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "TELEGRAM_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            TF_CPP_MIN_LOG_LEVEL="3",
            RASA_TELEMETRY_ENABLED="false",
            TRACKING_DB=str(self.workdir / "demo.db"),
            TICKETS_DB_URL=f"sqlite:///{self.workdir / 'tickets.db'}",
            EVIDENCE_DIR=str(self.workdir / "evidence"),
            AGENTS_DB_URL=f"sqlite:///{self.workdir / 'tickets.db'}",
        )
        env.update(extra)
        return env

    def start_actions(self, **env: str) -> None:
        """(Re)start the action server with extra environment variables."""
        self.stop("actions")
        log = self.workdir / "actions.log"
        proc = subprocess.Popen(
            [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(self.action_port)],
            cwd=ROOT,
            env=self._env(env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.processes["actions"] = proc
        wait_for(f"http://127.0.0.1:{self.action_port}/health", proc, log, 60)

    def start_rasa(self, endpoints: Path | None = None, credentials: Path | None = None, **env: str) -> None:
        """Start the Rasa server on the trained model with the REST channel and API.

        Args:
            endpoints: An endpoints file to use instead of one pointing at the action server.
            credentials: A credentials file to use instead of the project's.
            **env: Extra environment variables (values for ``${VAR}`` in the endpoints file).
        """
        self.stop("rasa")
        if endpoints is None:
            endpoints = self.workdir / "endpoints.yml"
            endpoints.write_text(
                f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
                "event_broker:\n  type: connectors.console.events.ConsoleEventBroker\n"
            )
        log = self.workdir / "rasa.log"
        proc = subprocess.Popen(
            [
                str(BIN / "rasa"),
                "run",
                "--model",
                str(ROOT / "models"),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(credentials or ROOT / "credentials.yml"),
                "--enable-api",
                "--auth-token",
                self.token,
                "--port",
                str(self.rasa_port),
            ],
            cwd=ROOT,
            env=self._env(env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.processes["rasa"] = proc
        wait_for(f"{self.base}/status?token={self.token}", proc, log, 240)

    def say(self, sender: str, text: str) -> list[str]:
        """Send a customer message over the REST channel; return the reply texts."""
        status, replies = http("POST", f"{self.base}/webhooks/rest/webhook", {"sender": sender, "message": text})
        assert status == 200, (status, replies)
        return [r.get("text", "") for r in replies]

    def send(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
        """Send a message (optionally with metadata, e.g. photo attachments); return the full replies."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        status, replies = http("POST", f"{self.base}/webhooks/rest/webhook", body)
        assert status == 200, (status, replies)
        return replies

    def tracker(self, sender: str) -> dict:
        """The conversation tracker through the token-protected HTTP API."""
        status, tracker = http("GET", f"{self.base}/conversations/{sender}/tracker?token={self.token}")
        assert status == 200
        return tracker

    def stop(self, name: str | None = None) -> None:
        """Stop one server, or all of them."""
        for key in [name] if name else list(self.processes):
            proc = self.processes.pop(key, None)
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def require_model() -> None:
    """Fail (never skip) when no trained model exists: ``make test`` trains one first."""
    if not any((ROOT / "models").glob("*.tar.gz")):
        raise AssertionError("no trained model in models/: run `make model` (make test does it first)")


@contextmanager
def running_servers(
    workdir: Path, *, credentials: Path | None = None, both: dict[str, str] | None = None, **rasa_env: str
) -> Iterator[Servers]:
    """The action server and the Rasa server for one test module, stopped afterwards.

    Args:
        workdir: A fresh folder for the servers' databases and logs.
        credentials: A credentials file instead of the shipped one.
        both: Environment variables for both servers.
        **rasa_env: Environment variables for the Rasa server only.
    """
    require_model()
    running = Servers(workdir)
    try:
        running.start_actions(**(both or {}))
        running.start_rasa(credentials=credentials, **(both or {}), **rasa_env)
        yield running
    finally:
        running.stop()
