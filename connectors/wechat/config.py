"""Settings of the WeChat channel, read from the environment (12-factor), and the channel when it is off.

``credentials.yml`` always lists ``connectors.wechat.channel.WeChatInput``; its values name
environment variables as quoted ``"${VAR}"`` strings (Rasa expands only unquoted ones, and
stops when those are unset), and a key that is absent falls back to :data:`ENV_VARS`.
So a deployer switches the channel on by setting variables, never by editing YAML:

* none of ``WECHAT_TOKEN``, ``WECHAT_APP_ID``, ``WECHAT_APP_SECRET`` set: the channel is
  off; its webhook answers 503 and the log says which variables to set;
* all three set: the channel verifies callbacks and serves;
* only some set: Rasa refuses to start, naming the missing ones (a half-configured
  channel would refuse every callback silently).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import Settings
from connectors.wechat.api import DEFAULT_API_BASE_URL

logger = logging.getLogger(__name__)

ENV_VARS = {
    "token": "WECHAT_TOKEN",
    "app_id": "WECHAT_APP_ID",
    "app_secret": "WECHAT_APP_SECRET",
    "encoding_aes_key": "WECHAT_ENCODING_AES_KEY",
    "api_base_url": "WECHAT_API_BASE_URL",
    "redis_url": "WECHAT_REDIS_URL",
    "redis_prefix": "WECHAT_REDIS_PREFIX",
    "template_id": "WECHAT_TEMPLATE_ID",
    "template_url": "WECHAT_TEMPLATE_URL",
}
"""Environment variable read for each setting missing from ``credentials.yml``."""
REQUIRED = ("token", "app_id", "app_secret")
OFF_MESSAGE = (
    "wechat: the channel is off: set WECHAT_TOKEN, WECHAT_APP_ID and WECHAT_APP_SECRET "
    "(optionally WECHAT_ENCODING_AES_KEY) to switch it on"
)
OFF_LOG_INTERVAL_SECONDS = 60.0
"""At most one "channel is off" log line per this many seconds, however many callbacks arrive."""

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_URL = re.compile(r"^https?://[^/\s]+")
_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _fallback(configured: Settings, key: str) -> str:
    """The :data:`ENV_VARS` variable of ``key`` as read into the settings (``""`` when unset)."""
    values = {
        "token": configured.wechat_token,
        "app_id": configured.wechat_app_id,
        "app_secret": configured.wechat_app_secret,
        "encoding_aes_key": configured.wechat_encoding_aes_key,
        "api_base_url": configured.wechat_api_base_url,
        "redis_url": configured.wechat_redis_url,
        "redis_prefix": configured.wechat_redis_prefix,
        "template_id": configured.wechat_template_id,
        "template_url": configured.wechat_template_url,
    }
    return values.get(key) or ""


def setting(credentials: Mapping[str, Any], key: str, env: Mapping[str, str] | Settings | None = None) -> str | None:
    """One setting: the credentials value with ``${VAR}`` expanded, else the environment variable.

    A value that refers to an unset (or empty) variable counts as missing. ``env`` is a
    mapping (default: the process environment) or settings already read from one.
    """
    configured = env if isinstance(env, Settings) else Settings.from_env(env)
    environ = configured.environ
    value = credentials.get(key)
    if value is None:
        value = _fallback(configured, key)
    text = str(value)
    if any(not environ.get(name) for name in _ENV_REFERENCE.findall(text)):
        return None
    return _ENV_REFERENCE.sub(lambda m: environ[m.group(1)], text).strip() or None


@dataclass(frozen=True)
class WeChatSettings:
    """The channel's settings (secrets are left out of ``repr``).

    Attributes:
        app_id: AppID (开发者ID).
        app_secret: AppSecret (开发者密码).
        token: The callback Token of 服务器配置.
        encoding_aes_key: EncodingAESKey: safe mode (安全模式) when set.
        api_base_url: API root: WeChat's, or a test or proxy endpoint.
        redis_url: Redis shared by several replicas; ``None`` keeps state in process.
        redis_prefix: Prefix of the Redis keys.
        menu: Custom-menu ``CLICK`` keys mapped to the text sent to Rasa.
        template_id: The template message (模板消息) proactive notices fall back to outside the
            48-hour window (``None``: such notices are recorded as undeliverable).
        template_url: The page that template message opens, or ``None``.
    """

    app_id: str
    app_secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str | None = field(default=None, repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    redis_url: str | None = field(default=None, repr=False)
    redis_prefix: str = "wechat"
    menu: Mapping[str, str] = field(default_factory=dict)
    template_id: str | None = None
    template_url: str | None = None

    @classmethod
    def read(cls, credentials: Mapping[str, Any] | None, env: Mapping[str, str] | None = None) -> WeChatSettings | None:
        """The settings from ``credentials.yml`` and the environment; ``None`` when the channel is off.

        Raises:
            ValueError: Some but not all required settings are given, or one is malformed.
        """
        values = credentials or {}
        configured = Settings.from_env(env)
        got = {key: setting(values, key, configured) for key in ENV_VARS}
        if not any(got[key] for key in REQUIRED):
            return None
        missing = [key for key in REQUIRED if not got[key]]
        if missing:
            names = ", ".join(f"'{key}' ({ENV_VARS[key]})" for key in missing)
            raise ValueError(f"wechat: credentials need {names}: set them, or unset the others to keep WeChat off")
        base_url = (got["api_base_url"] or DEFAULT_API_BASE_URL).rstrip("/")
        if not _URL.match(base_url):
            raise ValueError("wechat: 'api_base_url' (WECHAT_API_BASE_URL) must be an http(s) URL")
        prefix = got["redis_prefix"] or "wechat"
        if not _PREFIX.match(prefix):
            raise ValueError("wechat: 'redis_prefix' must be 1-64 characters of letters, digits or _.:-")
        template_url = got["template_url"]
        if template_url and not _URL.match(template_url):
            raise ValueError("wechat: 'template_url' (WECHAT_TEMPLATE_URL) must be an http(s) URL")
        menu = values.get("menu") or {}
        if not isinstance(menu, Mapping) or not all(isinstance(v, str) and v.strip() for v in menu.values()):
            raise ValueError("wechat: 'menu' must map each EventKey to a text")
        return cls(
            app_id=got["app_id"] or "",
            app_secret=got["app_secret"] or "",
            token=got["token"] or "",
            encoding_aes_key=got["encoding_aes_key"],
            api_base_url=base_url,
            redis_url=got["redis_url"] or configured.redis_url,
            redis_prefix=prefix,
            menu={str(key): text.strip() for key, text in menu.items()},
            template_id=got["template_id"],
            template_url=template_url if got["template_id"] else None,
        )


class WeChatOff(InputChannel):
    """The WeChat channel while it is not configured: every callback gets 503, and the log says why."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_logged: float | None = None

    @classmethod
    def name(cls) -> str:
        """The same name (and URL segment) as the configured channel."""
        return "wechat"

    def _log_off(self) -> None:
        now = self._clock()
        if self._last_logged is None or now - self._last_logged >= OFF_LOG_INTERVAL_SECONDS:
            self._last_logged = now
            logger.warning("%s (a callback got 503)", OFF_MESSAGE)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: ``GET /`` reports ``off``; ``GET``/``POST /webhook`` answer 503."""
        hook = Blueprint(f"wechat_off_{id(self)}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "off"})

        @hook.route("/webhook", methods=["GET", "POST"])
        async def webhook(_: Request) -> HTTPResponse:
            self._log_off()
            return response.text("wechat channel not configured", status=503)

        return hook
