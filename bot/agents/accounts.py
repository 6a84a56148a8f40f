"""Agent accounts: create, change role or password, deactivate, list, and check a login."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.agents.database import AgentDatabase
from bot.agents.models import Agent
from bot.agents.passwords import (
    check_display_name,
    check_password,
    check_role,
    dummy_hash,
    hash_password,
    normalise_username,
    verify_password,
)
from bot.agents.schema import agent_sessions, agents


class AgentAccounts(AgentDatabase):
    """The account operations of :class:`bot.agents.store.AgentStore`."""

    def create_agent(self, username: str, display_name: str, password: str, role: str = "agent") -> Agent:
        """Create an active agent with a role (``agent`` or ``supervisor``).

        Raises:
            ValueError: Bad username, display name, password or role, or the username is taken.
        """
        name = normalise_username(username)
        display = check_display_name(display_name)
        check_role(role)
        encoded = hash_password(check_password(password, name))
        now = self._now()
        try:
            with self._begin() as conn:
                values = {"display_name": display, "password_hash": encoded, "created_at": now, "role": role}
                conn.execute(insert(agents).values(username=name, active=True, **values))
        except IntegrityError:
            raise ValueError(f"agent {name!r} already exists") from None
        return Agent(username=name, display_name=display, active=True, created_at=now, role=role)

    def set_role(self, username: str, role: str) -> None:
        """Change an agent's role; their sessions are ended so the new role applies at the next login.

        Raises:
            ValueError: Unknown agent or role.
        """
        name = normalise_username(username)
        check_role(role)
        with self._begin() as conn:
            if conn.execute(update(agents).where(agents.c.username == name).values(role=role)).rowcount != 1:
                raise ValueError(f"unknown agent {name!r}")
            conn.execute(delete(agent_sessions).where(agent_sessions.c.username == name))

    def set_password(self, username: str, password: str) -> None:
        """Replace an agent's password and end all their sessions.

        Raises:
            ValueError: Unknown agent or unacceptable password.
        """
        name = normalise_username(username)
        encoded = hash_password(check_password(password, name))
        with self._begin() as conn:
            changed = conn.execute(update(agents).where(agents.c.username == name).values(password_hash=encoded))
            if changed.rowcount != 1:
                raise ValueError(f"unknown agent {name!r}")
            conn.execute(delete(agent_sessions).where(agent_sessions.c.username == name))

    def deactivate(self, username: str) -> None:
        """Deactivate an agent: no more logins, and their sessions are ended.

        Raises:
            ValueError: Unknown agent.
        """
        name = normalise_username(username)
        with self._begin() as conn:
            if conn.execute(update(agents).where(agents.c.username == name).values(active=False)).rowcount != 1:
                raise ValueError(f"unknown agent {name!r}")
            conn.execute(delete(agent_sessions).where(agent_sessions.c.username == name))

    def list_agents(self) -> list[Agent]:
        """Return every agent, active or not, by username."""
        with self._begin() as conn:
            rows = conn.execute(select(agents).order_by(agents.c.username)).all()
        return [Agent(r.username, r.display_name, bool(r.active), r.created_at, r.role) for r in rows]

    def authenticate(self, username: str, password: str) -> Agent | None:
        """Check a login; ``None`` for a wrong password, or an unknown or inactive agent.

        Unknown usernames cost the same scrypt work as known ones, so timing does not tell
        which usernames exist. Nothing is locked here: the console's edge limits the rate of
        guesses per address and per account (:mod:`connectors.console.auth`).
        """
        try:
            name = normalise_username(username)
        except ValueError:
            verify_password(str(password), dummy_hash())
            return None
        with self._begin() as conn:
            row = conn.execute(select(agents).where(agents.c.username == name)).first()
        ok = verify_password(password, row.password_hash if row is not None else dummy_hash())
        if not (ok and row is not None and row.active):
            return None
        return Agent(row.username, row.display_name, True, row.created_at, row.role)
