"""What a concurrent customer feels while one client sends the largest requests.

Starts the real assistant (Rasa server + action server, trained model in ``models/``)
and measures, from a second client, the round trip of the health route
(``GET /webhooks/rest/``) and of a small REST message ("你好"), in three modes
measured in the same run:

* **idle** (the reference): nobody else is sending;
* **max-size flood**: one client posts, back to back, REST bodies of the largest size
  the server accepts (``body_bytes.rest_webhook`` in ``policy/limits.yml``, else the
  server cap), filled with Chinese text, the worst case for text cleaning;
* **oversize flood**: the same client posts 30 MB bodies, which the server must refuse
  (413) before reading them.

Rate limits are raised a thousandfold for this run (a copy of the limits file): the
figure is the cost of handling the bodies, i.e. a flood spread over many addresses and
senders, not the cost of answering 429.

Usage: python bench/abuse_bench.py [--samples 60]; ``run()`` returns the markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.policy.limits import DEFAULT_FILE, Limits  # noqa: E402
from tests.support.e2e_servers import Servers  # noqa: E402

OVERSIZE_BYTES = 30 * 1024 * 1024


def relaxed_limits(work: Path) -> Path:
    """A copy of the shipped limits file with every rate 1000 times looser."""
    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    for rate in (data.get("rates") or {}).values():
        rate["count"] = int(rate["count"]) * 1000
    path = work / "limits.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def max_body() -> int:
    """The largest REST body the shipped limits accept."""
    limits = Limits.load(DEFAULT_FILE)
    try:
        return int(limits.number("body_bytes.rest_webhook"))
    except KeyError:
        return int(limits.number("body_bytes.server"))


def _post_raw(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0  # the server closed the connection on an oversize body: that is a refusal too


def flood(url: str, body: bytes, stop: threading.Event, statuses: list[int]) -> None:
    """Post ``body`` back to back until ``stop`` is set."""
    while not stop.is_set():
        statuses.append(_post_raw(url, body))


def timed(call: Callable[[], None]) -> float:
    """Milliseconds one call takes."""
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def sample(servers: Servers, samples: int) -> tuple[list[float], list[float]]:
    """Health and small-message round trips (ms), one after the other, from the customer's side."""
    health: list[float] = []
    message: list[float] = []
    base = servers.base
    for n in range(samples):
        health.append(timed(lambda: urllib.request.urlopen(f"{base}/webhooks/rest/", timeout=60).read()))
        sender = f"bench-customer-{n % 5}"
        message.append(timed(lambda: servers.say(sender, "你好")))  # noqa: B023 (called at once)
    return health, message


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(samples: int = 60) -> str:
    """Measure the three modes; return a markdown table."""
    work = Path(tempfile.mkdtemp(prefix="abuse-bench-"))
    servers = Servers(work)
    size = max_body()
    # JSON of {"sender": ..., "message": "<Chinese text>"} just under the accepted size
    chars = (size - 200) // 3
    max_size = json.dumps({"sender": "bench-flood", "message": "慢" * chars}, ensure_ascii=False).encode("utf-8")
    oversize = b'{"sender": "bench-flood", "message": "' + b"a" * OVERSIZE_BYTES + b'"}'
    rows: list[tuple[str, list[float], list[float], list[int]]] = []
    try:
        servers.start_actions()
        servers.start_rasa(LIMITS_FILE=str(relaxed_limits(work)))
        sample(servers, 5)  # warm-up: first turns load the NLU pipeline
        rows.append(("idle (reference)", *sample(servers, samples), []))
        for label, body in (
            (f"max-size flood ({len(max_size) / 1e6:.1f} MB bodies)", max_size),
            ("oversize flood (30 MB bodies, refused)", oversize),
        ):
            stop, statuses = threading.Event(), []
            url = f"{servers.base}/webhooks/rest/webhook"
            thread = threading.Thread(target=flood, args=(url, body, stop, statuses))
            thread.start()
            try:
                rows.append((label, *sample(servers, samples), statuses))
            finally:
                stop.set()
                thread.join()
    finally:
        servers.stop()
    lines = [
        "| mode | health p50 / p95 / max (ms) | message p50 / p95 / max (ms) | flood requests (statuses) |",
        "|---|---|---|---|",
    ]
    for label, health, message, statuses in rows:
        counts = ", ".join(f"{code}×{statuses.count(code)}" for code in sorted(set(statuses))) or "-"
        lines.append(
            f"| {label} | {statistics.median(health):.1f} / {_pct(health, 95):.1f} / {max(health):.1f} "
            f"| {statistics.median(message):.1f} / {_pct(message, 95):.1f} / {max(message):.1f} | {counts} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    print(run(args.samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
