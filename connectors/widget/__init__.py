"""The web chat widget channel (``connectors.widget.channel``).

``connectors.widget.WebWidgetInput`` (the path ``credentials.yml`` used before the channel became a
package) still resolves, lazily, so existing deployments keep working.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Resolve the channel class under its old dotted path without importing it eagerly."""
    if name == "WebWidgetInput":
        from connectors.widget.channel import WebWidgetInput

        return WebWidgetInput
    raise AttributeError(name)
