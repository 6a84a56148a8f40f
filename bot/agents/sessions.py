"""Login sessions: a random token handed out once (only its hash is kept), CSRF token, expiry, idle timeout."""

from __future__ import annotations

import hmac
import secrets

from sqlalchemy import delete, insert, or_, select, update

from bot.agents.database import AgentDatabase
from bot.agents.models import AgentSession, NewSession
from bot.agents.passwords import normalise_username, token_hash
from bot.agents.schema import agent_sessions, agents


class AgentSessions(AgentDatabase):
    """The session operations of :class:`bot.agents.store.AgentStore`."""

    def start_session(self, username: str) -> NewSession:
        """Start a session for an active agent (call after :meth:`authenticate`).

        Raises:
            ValueError: Unknown or inactive agent.
        """
        name = normalise_username(username)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._now()
        expires = now + self.session_ttl
        with self._begin() as conn:
            active = conn.execute(select(agents.c.active).where(agents.c.username == name)).scalar_one_or_none()
            if not active:
                raise ValueError(f"unknown or inactive agent {name!r}")
            values = {"username": name, "csrf_token": csrf, "created_at": now, "expires_at": expires}
            conn.execute(insert(agent_sessions).values(token_hash=token_hash(token), last_seen_at=now, **values))
        return NewSession(token=token, csrf_token=csrf, username=name, expires_at=expires)

    def session(self, token: str, *, touch: bool = True) -> AgentSession | None:
        """Return the valid session for ``token`` and (unless ``touch`` is false) mark it used, or ``None``.

        ``None`` when the token is unknown, past ``session_ttl``, idle for ``idle_timeout``, or
        the agent is deactivated; such a session is deleted. ``touch=False`` checks without
        counting as use (an open live feed must not keep an abandoned session alive).
        """
        if not isinstance(token, str) or not token:
            return None
        key = token_hash(token)
        now = self._now()
        with self._begin() as conn:
            row = conn.execute(
                select(agent_sessions, agents.c.display_name, agents.c.active, agents.c.role)
                .join(agents, agents.c.username == agent_sessions.c.username)
                .where(agent_sessions.c.token_hash == key)
            ).first()
            if row is None:
                return None
            if not row.active or now >= row.expires_at or now - row.last_seen_at >= self.idle_timeout:
                conn.execute(delete(agent_sessions).where(agent_sessions.c.token_hash == key))
                return None
            if touch:
                conn.execute(update(agent_sessions).where(agent_sessions.c.token_hash == key).values(last_seen_at=now))
        seen = now if touch else row.last_seen_at
        return AgentSession(
            row.username, row.display_name, row.csrf_token, row.created_at, row.expires_at, seen, row.role
        )

    def end_session(self, token: str) -> bool:
        """Log out: delete the session; return whether there was one."""
        if not isinstance(token, str) or not token:
            return False
        with self._begin() as conn:
            result = conn.execute(delete(agent_sessions).where(agent_sessions.c.token_hash == token_hash(token)))
        return result.rowcount > 0

    def check_csrf(self, token: str, csrf: str) -> bool:
        """Return whether ``csrf`` is the CSRF token of the valid session ``token`` (constant time)."""
        current = self.session(token)
        if current is None or not isinstance(csrf, str):
            return False
        return hmac.compare_digest(current.csrf_token.encode("utf-8"), csrf.encode("utf-8"))

    def purge_expired(self) -> int:
        """Delete expired or idle sessions; return how many."""
        now = self._now()
        s = agent_sessions.c
        with self._begin() as conn:
            stale = or_(s.expires_at <= now, s.last_seen_at <= now - self.idle_timeout)
            return conn.execute(delete(agent_sessions).where(stale)).rowcount
