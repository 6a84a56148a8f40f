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

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

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

PROVIDERS = ("demo", "kuaidi100")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


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


def _project_path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def provider_from_env(env: Mapping[str, str] = os.environ) -> TrackingProvider:
    """Build the tracking provider the environment asks for.

    Nothing is opened or fetched here; providers connect on first use.

    Args:
        env: Environment variables (default: ``os.environ``).

    Returns:
        A :class:`DemoProvider` or a :class:`Kuaidi100Provider`.

    Raises:
        ValueError: Unknown ``TRACKING_PROVIDER``, missing Kuaidi100
            credentials or a ``TRACKING_TIMEOUT`` that is not a positive number.
    """
    from bot.tracking.demo import DemoProvider
    from bot.tracking.kuaidi100 import Kuaidi100Provider

    name = (env.get("TRACKING_PROVIDER") or "demo").strip().lower()
    if name == "demo":
        return DemoProvider(
            db_path=_project_path(env.get("TRACKING_DB") or "var/demo.db"),
            fixtures_path=_project_path(env.get("TRACKING_FIXTURES") or "fixtures/shipments.yml"),
        )
    if name == "kuaidi100":
        customer = (env.get("KUAIDI100_CUSTOMER") or "").strip()
        key = (env.get("KUAIDI100_KEY") or "").strip()
        missing = [n for n, v in (("KUAIDI100_CUSTOMER", customer), ("KUAIDI100_KEY", key)) if not v]
        if missing:
            raise ValueError(f"TRACKING_PROVIDER=kuaidi100 needs {' and '.join(missing)} to be set")
        raw_timeout = env.get("TRACKING_TIMEOUT") or "2.5"
        try:
            timeout = float(raw_timeout)
        except ValueError:
            timeout = -1.0
        if not timeout > 0:
            raise ValueError(f"TRACKING_TIMEOUT must be a positive number of seconds, got {raw_timeout!r}")
        return Kuaidi100Provider(
            customer=customer,
            key=key,
            base_url=env.get("KUAIDI100_URL") or "https://poll.kuaidi100.com",
            timeout=timeout,
        )
    raise ValueError(f"unknown TRACKING_PROVIDER {name!r}; expected one of: {', '.join(PROVIDERS)}")
