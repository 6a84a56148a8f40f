"""Benchmark the assistant against a stock `rasa init` assistant measured in the same run.

Figures: training time (cold cache), model size, Rasa server RSS after the model is
loaded, REST round-trip latency p50/p95/p99 for one turn (sequential, and 20
concurrent conversations) and messages per second. Our turn is a waybill lookup
(NLU + dialogue + action server + demo SQLite provider); the reference turn is
"hello" answered by the stock assistant (NLU + dialogue, no custom action).

Usage: python bench/run_bench.py [--requests 200] [--concurrency 20]
Writes the table to stdout and to bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

import abuse_bench  # noqa: E402
import anger_bench  # noqa: E402
import proactive_bench  # noqa: E402
import quality_bench  # noqa: E402
import wechat_ack_bench  # noqa: E402

from tests.support.e2e_servers import free_port, wait_for  # noqa: E402

BIN = Path(sys.executable).parent
LOOKUP_NUMBERS = ["SF1648547086646", "SF1873662042955", "SF1851694749757", "78606494905818", "RR708661423JP"]


@dataclass
class Figures:
    """One assistant's measurements."""

    name: str
    train_s: float = 0.0
    model_mb: float = 0.0
    rss_mb: float = 0.0
    seq: list[float] = field(default_factory=list)
    conc: list[float] = field(default_factory=list)
    conc_wall_s: float = 0.0


def env(cache: Path) -> dict[str, str]:
    """Environment for rasa processes: project on the path, a private component cache."""
    out = dict(os.environ)
    out.update(
        PYTHONPATH=str(ROOT),
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        RASA_TELEMETRY_ENABLED="false",
        RASA_CACHE_DIRECTORY=str(cache),
    )
    return out


def train(project: Path, out: Path, cache: Path, extra: list[str]) -> tuple[float, Path]:
    """Train from a cold cache; return seconds and the model file."""
    started = time.monotonic()
    subprocess.run(
        [str(BIN / "rasa"), "train", "--out", str(out), "--fixed-model-name", "bench", *extra],
        cwd=project,
        env=env(cache),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - started, out / "bench.tar.gz"


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def post(url: str, sender: str, text: str) -> float:
    """One REST round trip; returns milliseconds."""
    data = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as reply:
        body = json.loads(reply.read())
    elapsed = (time.perf_counter() - started) * 1000
    if not body:
        raise RuntimeError("empty reply")
    return elapsed


def measure(
    figures: Figures,
    project: Path,
    model: Path,
    work: Path,
    messages: list[str],
    requests: int,
    concurrency: int,
    with_actions: bool,
) -> None:
    """Start the servers, measure memory and latency, stop them."""
    procs = []
    try:
        endpoints = work / f"{figures.name}-endpoints.yml"
        if with_actions:
            action_port = free_port()
            endpoints.write_text(
                f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
                "event_broker:\n  type: connectors.console.events.ConsoleEventBroker\n"  # as in endpoints.yml
            )
            log = work / f"{figures.name}-actions.log"
            actions = subprocess.Popen(
                [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(action_port)],
                cwd=project,
                env={
                    **env(work / "cache"),
                    "TRACKING_DB": str(work / "demo.db"),
                    "TICKETS_DB_URL": f"sqlite:///{work / 'tickets.db'}",
                },
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            procs.append(actions)
            wait_for(f"http://127.0.0.1:{action_port}/health", actions, log, 60)
        else:
            endpoints.write_text("")
        port = free_port()
        log = work / f"{figures.name}-rasa.log"
        server = subprocess.Popen(
            [
                str(BIN / "rasa"),
                "run",
                "--model",
                str(model),
                "--endpoints",
                str(endpoints),
                "--enable-api",
                "--auth-token",
                "bench",
                "--port",
                str(port),
            ],
            cwd=project,
            env=env(work / "cache"),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append(server)
        wait_for(f"http://127.0.0.1:{port}/status?token=bench", server, log, 240)
        url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
        for i in range(10):  # warm-up
            post(url, f"warm{i}", messages[i % len(messages)])
        figures.rss_mb = rss_mb(server.pid)
        figures.seq = [post(url, f"seq{i}", messages[i % len(messages)]) for i in range(requests)]

        def conversation(n: int) -> list[float]:
            per = max(1, requests // concurrency)
            return [post(url, f"conc{n}", messages[(n + i) % len(messages)]) for i in range(per)]

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(conversation, range(concurrency)))
        figures.conc_wall_s = time.perf_counter() - started
        figures.conc = [ms for batch in results for ms in batch]
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def table(ours: Figures, ref: Figures, concurrency: int) -> str:
    """Markdown table of both assistants."""
    rows = [
        ("training time, cold cache (s)", lambda f: f"{f.train_s:.0f}"),
        ("model size (MB)", lambda f: f"{f.model_mb:.1f}"),
        ("Rasa server RSS after load (MB)", lambda f: f"{f.rss_mb:.0f}"),
        ("sequential p50 (ms)", lambda f: f"{pct(f.seq, 50):.0f}"),
        ("sequential p95 (ms)", lambda f: f"{pct(f.seq, 95):.0f}"),
        ("sequential p99 (ms)", lambda f: f"{pct(f.seq, 99):.0f}"),
        ("sequential messages/s", lambda f: f"{len(f.seq) / (sum(f.seq) / 1000):.1f}"),
        (f"{concurrency} concurrent p50 (ms)", lambda f: f"{pct(f.conc, 50):.0f}"),
        (f"{concurrency} concurrent p95 (ms)", lambda f: f"{pct(f.conc, 95):.0f}"),
        (f"{concurrency} concurrent p99 (ms)", lambda f: f"{pct(f.conc, 99):.0f}"),
        (f"{concurrency} concurrent messages/s", lambda f: f"{len(f.conc) / f.conc_wall_s:.1f}"),
    ]
    lines = ["| figure | this assistant (lookup turn) | stock `rasa init` (greeting turn) |", "|---|---:|---:|"]
    lines += [f"| {label} | {fmt(ours)} | {fmt(ref)} |" for label, fmt in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        ours, ref = Figures("ours"), Figures("reference")
        print("training this assistant (cold cache)…", flush=True)
        ours.train_s, our_model = train(
            ROOT,
            work / "models-ours",
            work / "cache-ours",
            ["--domain", "domain", "--data", "data", "--config", "config.yml"],
        )
        ours.model_mb = our_model.stat().st_size / 1e6

        print("training the stock `rasa init` assistant…", flush=True)
        ref_project = work / "reference"
        # What `rasa init` copies, without the extra training run it starts.
        rasa_dir = Path(importlib.util.find_spec("rasa").submodule_search_locations[0])
        shutil.copytree(rasa_dir / "cli" / "initial_project", ref_project)
        ref.train_s, ref_model = train(ref_project, work / "models-ref", work / "cache-ref", [])
        ref.model_mb = ref_model.stat().st_size / 1e6

        print("measuring this assistant…", flush=True)
        measure(
            ours,
            ROOT,
            our_model,
            work,
            [f"帮我查下 {n}" for n in LOOKUP_NUMBERS],
            args.requests,
            args.concurrency,
            with_actions=True,
        )
        print("measuring the reference…", flush=True)
        measure(
            ref,
            ref_project,
            ref_model,
            work,
            ["hello", "hi", "hey there"],
            args.requests,
            args.concurrency,
            with_actions=False,
        )

        result = table(ours, ref, args.concurrency)
        stamp = time.strftime("%Y-%m-%d %H:%M")
        header = (
            f"Measured {stamp} on {os.cpu_count()} cores, {args.requests} requests per mode, "
            f"{args.concurrency} concurrent conversations.\n\n"
        )
        print("measuring the anger scorer…", flush=True)
        result += "\n\nAnger scorer (angry vs the rest), next to a keyword baseline measured in the same run:\n\n"
        result += anger_bench.run()
        print("measuring the model's quality on the held-out splits…", flush=True)
        result += (
            "\n\nQuality on the held-out splits (never trained on), next to the previous model's "
            "figures (`bench/quality_bench.py`):\n\n"
        )
        result += quality_bench.run(our_model)
        print("measuring the WeChat acknowledgement…", flush=True)
        result += "\n\n" + wechat_ack_bench.run()
        print("measuring what a customer feels while one client sends the largest requests…", flush=True)
        result += (
            "\n\nA concurrent customer's round trips while one client floods the REST channel with the "
            "largest accepted bodies, and with 30 MB bodies, next to the idle server (`bench/abuse_bench.py`):"
            "\n\n"
        )
        result += abuse_bench.run()
        print("measuring a proactive scan over many watched parcels and the outbox…", flush=True)
        result += (
            "\n\nProactive scans and the notice outbox, each next to smaller sizes measured in the same run "
            "(`bench/proactive_bench.py`):\n\n"
        )
        result += proactive_bench.run()
        print()
        print(header + result)
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "latest.md").write_text(header + result + "\n", encoding="utf-8")
        seq_sd = statistics.pstdev(ours.seq)
        print(f"\n(sequential lookup latency standard deviation: {seq_sd:.1f} ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
