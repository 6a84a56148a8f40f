"""ProactiveStore on both real backends: SQLite in tmp_path and PostgreSQL on 127.0.0.1:5432.

The PostgreSQL tests use a database of this module's own (``pg_url``), emptied before each
test; if the server is not running they FAIL (never skip).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.common.clock import CHINA_TZ
from bot.proactive.models import NewNotice
from bot.proactive.store import ProactiveStore, store_from_env
from tests.support.stores import BACKENDS, backend_url

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=CHINA_TZ)
H = timedelta(hours=1)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProactiveStore]:
    url = backend_url(request, tmp_path / "tickets.db")
    s = ProactiveStore(url)
    yield s
    s.close()


def notice(key: str = "held:weather:3-abc", conversation: str = "c1", due: datetime = T0, **kw: str) -> NewNotice:
    values = {"channel": "rest", "waybill": "SF1234567890123", "kind": "held", "language": "en", "text": "Held."}
    values.update(kw)
    return NewNotice(
        conversation_id=conversation,
        change_key=key,
        created_at=T0,
        due_at=due,
        **values,
    )


def test_watch_is_idempotent_and_refreshes(store: ProactiveStore) -> None:
    store.watch("c1", "rest", "SF1234567890123", "zh", T0, last_seen='{"a":1}')
    store.watch("c1", "telegram", "SF1234567890123", "en", T0 + H, retention=timedelta(days=2))
    [watch] = store.active_watches(T0 + H)
    assert (watch.channel, watch.language, watch.last_seen) == ("telegram", "en", '{"a":1}')  # baseline kept
    assert watch.expires_at == T0 + H + timedelta(days=2)
    assert watch.created_at == T0
    store.watch("c2", "rest", "SF1234567890123", "zh", T0)
    store.watch("c1", "rest", "YT7366118571491", "zh", T0)
    assert [w.conversation_id for w in store.active_watches(T0 + H)] == ["c1", "c2", "c1"]
    assert len(store.active_watches(T0 + H, limit=2)) == 2
    assert [w.waybill for w in store.active_watches(T0 + H, after=watch.id)] == ["SF1234567890123", "YT7366118571491"]


def test_expiry_end_and_restart(store: ProactiveStore) -> None:
    store.watch("c1", "rest", "SF1234567890123", "zh", T0, retention=timedelta(days=1))
    store.watch("c1", "rest", "YT7366118571491", "zh", T0, retention=timedelta(days=3))
    later = T0 + timedelta(days=2)
    assert [w.waybill for w in store.active_watches(later)] == ["YT7366118571491"]
    assert store.end_expired(later) == 1
    assert store.end_expired(later) == 0
    [active] = store.active_watches(later)
    store.record_seen(active, '{"seen":2}')
    store.end_watch(active, later)
    assert store.active_watches(later) == []
    assert all(w.ended_at is not None for w in store.watches_of("c1"))
    store.watch("c1", "rest", "YT7366118571491", "zh", later)  # asked again: watched again
    [again] = store.active_watches(later)
    assert again.last_seen == '{"seen":2}' and again.ended_at is None


def test_queue_refuses_the_same_change_twice(store: ProactiveStore) -> None:
    assert store.queue(notice())
    assert not store.queue(notice(text="Held, again."))
    assert store.queue(notice(conversation="c2"))  # another watcher of the same parcel
    assert store.queue(notice(key="held:weather:5-def"))  # a new episode
    queued = store.add(notice(key="delivered", kind="delivered"))
    assert queued is not None and queued.status == "pending" and queued.due_at == T0
    assert store.add(notice(key="delivered", kind="delivered")) is None
    assert len(store.notices_of("c1")) == 3


def test_due_sent_and_undeliverable(store: ProactiveStore) -> None:
    store.queue(notice("k1"))
    store.queue(notice("k2", due=T0 + 10 * H))  # held by quiet hours
    [due] = store.due(T0)
    assert due.change_key == "k1"
    assert [n.change_key for n in store.pending()] == ["k1", "k2"]
    assert store.pending_count() == 2
    assert store.mark_sent(due.id, T0)
    assert store.pending_count() == 1
    assert not store.mark_sent(due.id, T0)  # only once
    assert store.due(T0) == []
    [later] = store.due(T0 + 10 * H)
    assert store.mark_undeliverable(later.id, "wechat 45015: outside the 48-hour window", T0 + 10 * H)
    [bad] = store.undeliverable()
    assert (bad.status, bad.detail) == ("undeliverable", "wechat 45015: outside the 48-hour window")
    assert store.pending() == []
    assert store.pending_count() == 0
    sent = store.notices_of("c1")[0]
    assert (sent.status, sent.sent_at) == ("sent", T0.astimezone(timezone.utc))


def test_sent_today_counts_the_china_day_of_due(store: ProactiveStore) -> None:
    day = datetime(2026, 11, 20, 0, 30, tzinfo=CHINA_TZ)  # 16:30 UTC the day before
    store.queue(notice("a", due=day))
    store.queue(notice("b", due=day + 20 * H))
    store.queue(notice("c", due=day + 24 * H))
    store.queue(notice("d", due=day + H, conversation="c2"))
    assert store.sent_today("c1", day + 5 * H) == 2
    assert store.sent_today("c1", day + 30 * H) == 1
    [first] = store.due(day, 1)
    store.mark_undeliverable(first.id, "no channel", day)
    assert store.sent_today("c1", day) == 1  # undeliverable ones do not count


def test_preferences_and_opting_out_cancels_waiting_notices(store: ProactiveStore) -> None:
    assert store.updates_enabled("c1")
    store.watch("c1", "rest", "SF1234567890123", "zh", T0)
    store.watch("c2", "rest", "SF1234567890123", "zh", T0)
    store.queue(notice("k1", due=T0 + 10 * H))
    store.set_updates("c1", False, T0)
    assert not store.updates_enabled("c1")
    assert [w.conversation_id for w in store.active_watches(T0)] == ["c2"]
    [cancelled] = store.notices_of("c1")
    assert (cancelled.status, cancelled.detail) == ("cancelled", "updates turned off")
    assert store.due(T0 + 10 * H) == []
    store.set_updates("c1", True, T0 + H)
    assert store.updates_enabled("c1")
    assert len(store.active_watches(T0)) == 2


def test_bad_values_are_refused(store: ProactiveStore) -> None:
    with pytest.raises(ValueError, match="conversation_id"):
        store.watch(" ", "rest", "SF1234567890123", "zh", T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.watch("c1", "rest", "SF1234567890123", "zh", T0.replace(tzinfo=None))


def test_store_from_env_uses_the_ticket_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    with store_from_env({"TICKETS_DB_URL": url}) as s:
        assert str(s.url) == url
        s.watch("c1", "rest", "SF1234567890123", "zh", T0)
    with ProactiveStore(url) as again:  # tables already there: created once, kept
        assert len(again.active_watches(T0)) == 1
