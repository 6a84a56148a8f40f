"""The Telegram channel: the channel, its support state and the command line.

``connectors.telegram.TelegramInput`` (the path ``credentials.yml`` used before the channel became a
package) still resolves, lazily, so existing deployments keep working.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Resolve the channel class under its old dotted path without importing it eagerly."""
    if name == "TelegramInput":
        from connectors.telegram.channel import TelegramInput

        return TelegramInput
    raise AttributeError(name)
