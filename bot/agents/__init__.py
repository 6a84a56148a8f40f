"""Agent accounts, login sessions and the access audit of the agent console (SQLAlchemy Core).

Modules: ``models`` (what the store hands out), ``passwords`` (hashes and checks), ``schema``
(tables, migration), ``database`` (engine, transactions), ``accounts``, ``sessions``, ``audit``
(the store's three parts), ``store`` (:class:`AgentStore`, :func:`store_from_env`), ``cli``
(``python -m bot.agents.cli``, for operators).

Passwords are stored as scrypt hashes (``scrypt$n$r$p$salt_b64$hash_b64``); session tokens are
handed out once and only their SHA-256 is stored. Every agent has a role: ``agent`` (sees the
queue and the chats they hold) or ``supervisor`` (sees everything, and the audit). Every view of
a transcript or a photo and every phone reveal is recorded in ``agent_access_log`` (who, when,
which conversation, what). Guessing passwords is slowed down at the HTTP edge
(``connectors.console.auth``, rates in ``policy/limits.yml``), not by locking accounts here: a
lock that anyone can trigger would let any stranger keep an agent out.

Databases created before roles existed are migrated on first use (``role`` column added with
``agent`` for everybody; the old ``agent_login_failures`` table is dropped).

Environment (``store_from_env``): ``AGENTS_DB_URL``, else ``TICKETS_DB_URL``, else
``sqlite:///<project>/var/tickets.db`` (the ticket store's default file).
"""

from __future__ import annotations

from bot.agents.models import ACCESS_KINDS, ROLES, AccessRecord, Agent, AgentSession, NewSession
from bot.agents.passwords import hash_password, normalise_username, verify_password
from bot.agents.store import AgentStore, store_from_env

__all__ = [
    "ACCESS_KINDS", "ROLES", "AccessRecord", "Agent", "AgentSession", "AgentStore", "NewSession", "hash_password",
    "normalise_username", "store_from_env", "verify_password",
]  # fmt: skip
