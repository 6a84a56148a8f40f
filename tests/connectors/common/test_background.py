"""connectors.common.background: background work, in order per customer, drained on stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectors.common.background import BackgroundTasks


async def test_one_customers_work_runs_in_arrival_order_and_others_do_not_wait() -> None:
    tasks = BackgroundTasks("test")
    done: list[str] = []
    release = asyncio.Event()

    async def slow(name: str) -> None:
        await release.wait()
        done.append(name)

    async def quick(name: str) -> None:
        done.append(name)

    tasks.spawn(slow("a1"), "wx-a")
    tasks.spawn(quick("a2"), "wx-a")
    tasks.spawn(quick("b1"), "wx-b")
    for _ in range(5):
        await asyncio.sleep(0)
    assert done == ["b1"]  # another customer is not held up
    release.set()
    await tasks.drain(5)
    assert done == ["b1", "a1", "a2"]
    assert len(tasks) == 0


async def test_a_customer_waits_for_the_previous_work_only_so_long() -> None:
    tasks = BackgroundTasks("test", wait_previous=0.05)
    done: list[str] = []
    never = asyncio.Event()

    async def stuck() -> None:
        await never.wait()

    async def next_one() -> None:
        done.append("next")

    tasks.spawn(stuck(), "wx-a")
    tasks.spawn(next_one(), "wx-a")
    await asyncio.sleep(0.2)
    assert done == ["next"]
    await tasks.drain(0.01)
    assert len(tasks) == 1  # the stuck one is still there: drain gave up after its timeout


async def test_a_failed_task_is_logged_without_the_customer(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks("test")
    caplog.set_level(logging.ERROR)

    async def boom() -> None:
        raise RuntimeError("broken")

    tasks.spawn(boom(), "wx-secret-openid")
    await tasks.drain(5)
    await asyncio.sleep(0)
    assert "RuntimeError" in caplog.text and "wx-secret-openid" not in caplog.text
