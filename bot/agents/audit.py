"""The access audit: who saw which conversation's transcript or photos, or revealed its phone numbers, when."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import insert, select

from bot.agents.database import AgentDatabase
from bot.agents.models import ACCESS_KINDS, MAX_ID, AccessRecord
from bot.agents.passwords import check_role, normalise_username
from bot.agents.schema import agent_access_log


class AccessAudit(AgentDatabase):
    """The audit operations of :class:`bot.agents.store.AgentStore`."""

    def record_access(
        self, username: str, role: str, conversation_id: str, kind: str, detail: str | None = None
    ) -> AccessRecord:
        """Record that ``username`` saw ``kind`` (see :data:`ACCESS_KINDS`) of a conversation, now.

        Raises:
            ValueError: Unknown kind or role, or an empty conversation id.
        """
        if kind not in ACCESS_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ACCESS_KINDS)}, got {kind!r}")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ValueError("conversation_id must be a non-empty string")
        record = AccessRecord(
            at=self._now(), username=normalise_username(username), role=check_role(role),
            conversation_id=conversation_id[:MAX_ID], kind=kind, detail=None if detail is None else detail[:128],
        )  # fmt: skip
        with self._begin() as conn:
            conn.execute(insert(agent_access_log).values(**asdict(record)))
        return record

    def access_log(
        self, *, conversation_id: str | None = None, username: str | None = None, limit: int = 200
    ) -> list[AccessRecord]:
        """The newest audit rows first, optionally of one conversation and/or one agent (at most ``limit``)."""
        c = agent_access_log.c
        query = select(agent_access_log).order_by(c.at.desc(), c.id.desc()).limit(max(1, min(int(limit), 5000)))
        if conversation_id:
            query = query.where(c.conversation_id == conversation_id[:MAX_ID])
        if username:
            query = query.where(c.username == username.strip().lower())
        with self._begin() as conn:
            rows = conn.execute(query).all()
        return [AccessRecord(r.at, r.username, r.role, r.conversation_id, r.kind, r.detail) for r in rows]
