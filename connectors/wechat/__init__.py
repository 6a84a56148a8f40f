"""The WeChat Official Account channel: callbacks, the API client and its settings.

``connectors.wechat.WeChatInput`` (the path ``credentials.yml`` used before the channel became a
package) still resolves, lazily, so existing deployments keep working.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """Resolve the channel class under its old dotted path without importing it eagerly."""
    if name == "WeChatInput":
        from connectors.wechat.channel import WeChatInput

        return WeChatInput
    raise AttributeError(name)
