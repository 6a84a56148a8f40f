"""The agent console: the channel, its routes, access rules, live feed and event broker.

``connectors.console.AgentConsoleInput`` (the path ``credentials.yml`` used before the channel became a
package) still resolves, lazily, so existing deployments keep working.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Resolve the channel class under its old dotted path without importing it eagerly."""
    if name == "AgentConsoleInput":
        from connectors.console.channel import AgentConsoleInput

        return AgentConsoleInput
    raise AttributeError(name)
