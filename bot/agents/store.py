"""The agent store: accounts, sessions and the access audit in one SQL database."""

from __future__ import annotations

from typing import Mapping

from bot.agents.accounts import AgentAccounts
from bot.agents.audit import AccessAudit
from bot.agents.sessions import AgentSessions
from bot.settings import Settings


class AgentStore(AgentAccounts, AgentSessions, AccessAudit):
    """Agent accounts, roles, sessions and the access audit in a SQL database; thread-safe.

    Args:
        url: SQLAlchemy URL; ``sqlite:///path`` (parent directory created) or ``postgresql+psycopg2://...``.
        clock: Returns "now" (aware); injectable for tests.
        session_ttl: Absolute lifetime of a session.
        idle_timeout: A session unused for this long is no longer valid.
    """


def store_from_env(env: Mapping[str, str] | None = None) -> AgentStore:
    """Return the store ``AGENTS_DB_URL``, else ``TICKETS_DB_URL``, else ``<project>/var/tickets.db`` names.

    No database work happens here.
    """
    return AgentStore(Settings.from_env(env).agents_db_url)
