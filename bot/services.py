"""Services the actions use, built lazily on first use and replaceable in tests.

The SDK builds each action once with no arguments, so actions fetch their
collaborators from here instead of keeping them on ``self``. Nothing is built at
import time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from bot.common.clock import now_in_china
from bot.policy.model import Policy
from bot.settings import reset_settings, settings
from bot.tickets import TicketStore
from bot.tickets import store_from_env as tickets_from_env
from bot.tracking import TrackingProvider, provider_from_env
from bot.tracking.outlets import OutletDirectory

_provider: TrackingProvider | None = None
_outlets: OutletDirectory | None = None
_tickets: TicketStore | None = None
_policy: Policy | None = None
_clock: Callable[[], datetime] = now_in_china


def provider() -> TrackingProvider:
    """The tracking provider chosen by the environment (``TRACKING_PROVIDER``)."""
    global _provider
    if _provider is None:
        _provider = provider_from_env()
    return _provider


def outlets() -> OutletDirectory:
    """The outlet directory (``OUTLETS_FILE``, default ``fixtures/outlets.yml``)."""
    global _outlets
    if _outlets is None:
        _outlets = OutletDirectory.from_yaml(settings().outlets_file)
    return _outlets


def tickets() -> TicketStore:
    """The ticket store (``TICKETS_DB_URL``, default SQLite in ``var/``)."""
    global _tickets
    if _tickets is None:
        _tickets = tickets_from_env()
    return _tickets


def policy() -> Policy:
    """The service policy (``POLICY_FILE``, default ``policy/policy.yml``)."""
    global _policy
    if _policy is None:
        _policy = Policy.load(settings().policy_file)
    return _policy


def now() -> datetime:
    """The current time, from the configured clock."""
    return _clock()


def configure(
    tracking: TrackingProvider | None = None,
    outlet_directory: OutletDirectory | None = None,
    clock: Callable[[], datetime] | None = None,
    ticket_store: TicketStore | None = None,
    service_policy: Policy | None = None,
) -> None:
    """Replace services (tests, or an embedding application).

    Args:
        tracking: Provider to use instead of the one from the environment.
        outlet_directory: Outlet directory to use.
        clock: Function returning the current aware datetime.
        ticket_store: Ticket store to use.
        service_policy: Policy to use instead of the policy file.
    """
    global _provider, _outlets, _clock, _tickets, _policy
    if tracking is not None:
        _provider = tracking
    if outlet_directory is not None:
        _outlets = outlet_directory
    if clock is not None:
        _clock = clock
    if ticket_store is not None:
        _tickets = ticket_store
    if service_policy is not None:
        _policy = service_policy


def reset() -> None:
    """Forget every service so the next use builds it again from the environment."""
    global _provider, _outlets, _clock, _tickets, _policy
    _provider = None
    _outlets = None
    _clock = now_in_china
    _tickets = None
    _policy = None
    reset_settings()
