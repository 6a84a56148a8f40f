"""The REST channel for trusted integrations (``connectors.rest.channel``).

``connectors.rest.CustomerRestInput`` (the path ``credentials.yml`` used before the channel became a
package) still resolves, lazily, so existing deployments keep working.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Resolve the channel class under its old dotted path without importing it eagerly."""
    if name == "CustomerRestInput":
        from connectors.rest.channel import CustomerRestInput

        return CustomerRestInput
    raise AttributeError(name)
