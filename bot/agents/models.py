"""What the agent store hands out: accounts, sessions, audit rows, and the rules for names and roles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

USERNAME_RE = re.compile(r"[a-z0-9._-]{3,64}")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
ROLES = ("agent", "supervisor")
"""``agent``: the queue (summaries) and the chats they hold; ``supervisor``: everything, and the audit."""
ACCESS_KINDS = ("transcript", "photo", "reveal")
"""What an audit row records: a transcript view, a photo view, an explicit reveal of phone numbers."""
MAX_ID = 255


@dataclass(frozen=True)
class Agent:
    """An agent account (never carries the password hash)."""

    username: str
    display_name: str
    active: bool
    created_at: datetime
    role: str = "agent"


@dataclass(frozen=True)
class AgentSession:
    """A valid login session, as returned by :meth:`AgentStore.session`."""

    username: str
    display_name: str
    csrf_token: str = field(repr=False)
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    role: str = "agent"

    @property
    def supervisor(self) -> bool:
        """Whether this session's agent is a supervisor."""
        return self.role == "supervisor"


@dataclass(frozen=True)
class AccessRecord:
    """One audit row: ``username`` (``role``) saw ``kind`` of ``conversation_id`` at ``at``."""

    at: datetime
    username: str
    role: str
    conversation_id: str
    kind: str
    detail: str | None


@dataclass(frozen=True)
class NewSession:
    """A session just started: the raw token exists only here (the database keeps its hash)."""

    token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    username: str
    expires_at: datetime
