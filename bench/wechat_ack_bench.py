"""How fast the WeChat channel answers ``success`` while the bot is busy.

WeChat retries a callback that is not answered within 5 s, so the channel must
acknowledge at once and work in the background. This script serves the real
channel (signature check, XML parsing, de-duplication, task scheduling) on a real
HTTP port in front of a deliberately busy stand-in for Rasa: every message holds
the event loop for 20 ms of CPU (as NLU does) and then waits 2 s (action server),
while 20 callbacks per second arrive. The reference, measured in the same run, is
a bare Sanic route on the same loop setup that answers ``success`` and does nothing.

Usage: python bench/wechat_ack_bench.py [--callbacks 300]; ``run()`` returns the table.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rasa.core.channels.channel import UserMessage  # noqa: E402
from sanic import Sanic, response  # noqa: E402

from connectors.wechat.channel import WeChatInput  # noqa: E402
from tests.fakes.wechat import FakeWeChat  # noqa: E402
from tests.support.wechat import APP_ID, APP_SECRET, TOKEN, ChannelServer, signed, text_xml  # noqa: E402

CPU_MS_PER_MESSAGE = 20
DIALOGUE_WAIT_S = 2.0
RATE_PER_S = 20


class BusyBot(ChannelServer):
    """The channel in front of a stand-in for a Rasa server under load."""

    async def on_new_message(self, message: UserMessage) -> None:  # noqa: D102
        self.received.append(message)
        end = time.perf_counter() + CPU_MS_PER_MESSAGE / 1000
        while time.perf_counter() < end:  # NLU-like CPU work on the event loop
            pass
        await asyncio.sleep(DIALOGUE_WAIT_S)
        await message.output_channel.send_text_message(message.sender_id, "收到")


class BareRoute(ChannelServer):
    """The reference: a route that answers ``success`` and does nothing else (same server boot)."""

    def build_app(self) -> Sanic:  # noqa: D102
        app = Sanic(f"bare_{id(self)}", configure_logging=False)

        @app.post("/webhooks/wechat/webhook")
        async def ack(request: Any) -> Any:
            return response.text("success")

        return app


def _measure(server: ChannelServer, callbacks: int, first: int = 0) -> list[float]:
    timings = []
    with httpx.Client(timeout=10) as client:
        for n in range(first, first + callbacks):
            body = text_xml(f"查 SF18736620429{n % 100:02d}", msg_id=10**12 + n, openid=f"oBench{n:06d}")
            started = time.perf_counter()
            answer = client.post(server.url, params=signed(), content=body.encode())
            timings.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200 or answer.text != "success":
                raise RuntimeError(f"callback {n}: {answer.status_code} {answer.text[:60]}")
            time.sleep(max(0.0, 1 / RATE_PER_S - timings[-1] / 1000))
    return timings


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def run(callbacks: int = 300) -> str:
    """Measure both servers and return a Markdown table."""
    fake = FakeWeChat(APP_ID, APP_SECRET).start()
    try:
        ours = BusyBot(WeChatInput(APP_ID, APP_SECRET, TOKEN, api_base_url=fake.url)).start()
        try:
            _measure(ours, 10)  # warm-up
            mine = _measure(ours, callbacks, first=10)
            backlog = len(ours.received)
        finally:
            ours.stop()
        bare = BareRoute(WeChatInput(APP_ID, APP_SECRET, TOKEN, api_base_url=fake.url)).start()
        try:
            _measure(bare, 10)
            reference = _measure(bare, callbacks, first=10)
        finally:
            bare.stop()
    finally:
        fake.stop()
    rows = [("p50 (ms)", 50), ("p95 (ms)", 95), ("p99 (ms)", 99)]
    lines = [
        f"WeChat callback → `success`, {callbacks} callbacks at {RATE_PER_S}/s; the bot behind it spends "
        f"{CPU_MS_PER_MESSAGE} ms of CPU on the loop and waits {DIALOGUE_WAIT_S:.0f} s per message "
        f"({backlog} messages, warm-up included, handed to it, one customer each):",
        "",
        "| figure | WeChat channel, busy bot | bare `success` route |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {_pct(mine, p):.1f} | {_pct(reference, p):.1f} |" for label, p in rows]
    lines.append(f"| max (ms) | {max(mine):.1f} | {max(reference):.1f} |")
    return "\n".join(lines)


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--callbacks", type=int, default=300)
    print(run(parser.parse_args().callbacks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
