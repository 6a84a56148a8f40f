"""A damage claim as the channels see it: a real Rasa ``Agent`` holding the trackers a test sets up.

The Telegram and WeChat channels take photos only inside a damage claim, which they read from
the Rasa server's ``app.ctx.agent``; these helpers put one there with Rasa's in-memory stores.
"""

from __future__ import annotations

from rasa.core.agent import Agent
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from tests.support.sanic_server import BlueprintServer


def claim_agent(domain: Domain) -> Agent:
    """A real Rasa ``Agent`` with an in-memory tracker store: what Rasa's server keeps in ``app.ctx.agent``."""
    return Agent(domain=domain, tracker_store=InMemoryTrackerStore(domain), lock_store=InMemoryLockStore())


def claim_tracker(domain: Domain, sender_id: str, *loops: str | None) -> DialogueStateTracker:
    """A conversation that said something, then had each of ``loops`` as its active loop in turn.

    ``claim_tracker(d, s, FORM)`` is inside the damage claim form; ``(d, s, FORM, None)`` is a
    claim that has ended; ``(d, s)`` a conversation that never had one.
    """
    tracker = DialogueStateTracker(sender_id, domain.slots)
    tracker.update(UserUttered("我的包裹压坏了", {"name": "report_damage"}))
    for loop in loops:
        tracker.update(ActiveLoop(loop))
    return tracker


def serve_agent(server: BlueprintServer, agent: Agent) -> None:
    """Put ``agent`` where Rasa's server keeps it (``app.ctx.agent`` of the app serving the channel)."""
    server._server.app.ctx.agent = agent
