"""Shipment tracking: the data model, the providers and their factory.

``provider_from_env`` picks the provider from environment variables:

* ``TRACKING_PROVIDER``: ``demo`` (default) or ``kuaidi100``.
* demo: ``TRACKING_DB`` (default ``var/demo.db``) and ``TRACKING_FIXTURES``
  (default ``fixtures/shipments.yml``); relative paths are taken from the
  project root.
* kuaidi100: ``KUAIDI100_CUSTOMER`` and ``KUAIDI100_KEY`` (required),
  ``KUAIDI100_URL`` (default ``https://poll.kuaidi100.com``) and
  ``TRACKING_TIMEOUT`` in seconds (default 2.5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from bot.settings import TRACKING_PROVIDERS, Settings
from bot.tracking.models import (
    HoldReason,
    ProviderError,
    ScanEvent,
    Shipment,
    Status,
    TrackingProvider,
)

__all__ = [
    "DemoProvider",
    "HoldReason",
    "Kuaidi100Provider",
    "ProviderError",
    "ScanEvent",
    "Shipment",
    "Status",
    "TrackingProvider",
    "provider_from_env",
]

if TYPE_CHECKING:
    from bot.tracking.demo import DemoProvider
    from bot.tracking.kuaidi100 import Kuaidi100Provider

PROVIDERS = TRACKING_PROVIDERS


def __getattr__(name: str) -> Any:
    # The providers are imported lazily so that ``python -m bot.tracking.demo``
    # and ``python -m bot.tracking.fixtures`` run without re-import warnings.
    if name == "DemoProvider":
        from bot.tracking.demo import DemoProvider

        return DemoProvider
    if name == "Kuaidi100Provider":
        from bot.tracking.kuaidi100 import Kuaidi100Provider

        return Kuaidi100Provider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def provider_from_env(env: Mapping[str, str] | None = None) -> TrackingProvider:
    """Build the tracking provider the environment asks for.

    Nothing is opened or fetched here; providers connect on first use.

    Args:
        env: Environment variables (default: the process's), read by
            :meth:`bot.settings.Settings.from_env`.

    Returns:
        A :class:`DemoProvider` or a :class:`Kuaidi100Provider`.

    Raises:
        ValueError: Unknown ``TRACKING_PROVIDER``, missing Kuaidi100
            credentials or a ``TRACKING_TIMEOUT`` that is not a positive number.
    """
    from bot.tracking.demo import DemoProvider
    from bot.tracking.kuaidi100 import Kuaidi100Provider

    configured = Settings.from_env(env)
    name = configured.check_tracking_provider()
    if name == "demo":
        return DemoProvider(
            db_path=configured.project_path(configured.tracking_db),
            fixtures_path=configured.project_path(configured.tracking_fixtures),
        )
    customer, key = configured.kuaidi100_credentials()
    return Kuaidi100Provider(
        customer=customer,
        key=key,
        base_url=configured.kuaidi100_url,
        timeout=configured.tracking_timeout_seconds,
    )
