"""Settings of the Telegram channel: ``credentials.yml`` values, ``${VAR}`` expanded, else the environment.

Keys (``credentials.yml``, block ``connectors.telegram.channel.TelegramInput``): ``token``,
``secret_token`` (webhook secret, 16-256 of ``A-Z a-z 0-9 _ -``), ``webhook_url`` (public
URL of the webhook, used by ``set-webhook``), ``base_url`` (Bot API server root, default
``https://api.telegram.org``; a local Bot API server or a test fake), ``redis_url`` and
``redis_prefix`` (shared de-duplication and button map for several Rasa replicas). A value
may be written ``${VAR}``: it is expanded by :func:`bot.settings.expand_references` (Rasa's
YAML loader expands it too, and refuses to start if the variable is unset), and a value
still holding ``${…}`` is an error. A key that is absent falls back to the environment
(:data:`ENV_VARS`), so the block may stay empty.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Mapping

from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

from bot.settings import Settings, expand_references

DEFAULT_BASE_URL = "https://api.telegram.org"
WEBHOOK_PATH = "/webhooks/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
"""The update types the webhook (and polling) asks Telegram for."""
ENV_VARS = {
    "token": "TELEGRAM_TOKEN",
    "secret_token": "TELEGRAM_SECRET_TOKEN",
    "webhook_url": "TELEGRAM_WEBHOOK_URL",
    "base_url": "TELEGRAM_BASE_URL",
    "redis_url": "TELEGRAM_REDIS_URL",
    "redis_prefix": "TELEGRAM_REDIS_PREFIX",
}
"""Environment variable read for each configuration key missing from ``credentials.yml``."""

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
_UNEXPANDED = re.compile(r"\$\{[^}]*\}")


@dataclass(frozen=True)
class TelegramConfig:
    """Settings of the Telegram channel (secrets are left out of ``repr``).

    Attributes:
        token: Bot token from @BotFather.
        secret_token: Webhook secret Telegram sends in ``X-Telegram-Bot-Api-Secret-Token``.
        webhook_url: Public HTTPS URL of ``/webhooks/telegram/webhook`` (for ``set-webhook``).
        base_url: Bot API server root (``https://api.telegram.org``).
        redis_url: Redis for de-duplication and long button payloads, shared by replicas.
        redis_prefix: Key prefix in Redis.
    """

    token: str = field(repr=False)
    secret_token: str = field(repr=False)
    webhook_url: str | None = None
    base_url: str = DEFAULT_BASE_URL
    redis_url: str | None = field(default=None, repr=False)
    redis_prefix: str = "lcs"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None, env: Mapping[str, str] | None = None) -> TelegramConfig:
        """Read the settings from a ``credentials.yml`` block, falling back to :data:`ENV_VARS`.

        Args:
            values: The channel's credentials (may be ``None`` or empty).
            env: Environment (default: the process's) whose :class:`bot.settings.Settings` give
                the :data:`ENV_VARS` fallbacks of missing keys; ``$VAR`` / ``${VAR}`` in the
                values are expanded from the process environment.

        Returns:
            The checked settings.

        Raises:
            ValueError: No token, a bad secret, an unexpanded ``${VAR}`` or a bad URL.
        """
        values = values or {}
        configured = Settings.from_env(env)
        fallbacks: dict[str, str | None] = {
            "token": configured.telegram_token,
            "secret_token": configured.telegram_secret_token,
            "webhook_url": configured.telegram_webhook_url,
            "base_url": configured.telegram_base_url,
            "redis_url": configured.telegram_redis_url,
            "redis_prefix": configured.telegram_redis_prefix,
        }

        def get(key: str) -> str | None:
            raw = values.get(key)
            if raw is None:
                raw = fallbacks[key]
            if raw is None:
                return None
            text = expand_references(str(raw)).strip()
            leftover = _UNEXPANDED.search(text)
            if leftover:
                raise ValueError(f"telegram: '{key}' refers to {leftover.group(0)}, which is not set")
            return text or None

        token, secret = get("token"), get("secret_token")
        if not token:
            raise ValueError(f"telegram: no bot token (credentials 'token' or {ENV_VARS['token']})")
        if not secret or not _SECRET_TOKEN.match(secret):
            raise ValueError(
                f"telegram: 'secret_token' ({ENV_VARS['secret_token']}) must be 16-256 characters of "
                "A-Z a-z 0-9 _ - (e.g. `openssl rand -hex 32`)"
            )
        base_url = (get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        if base_url.endswith("/bot"):
            base_url = base_url[: -len("/bot")]
        if not re.match(r"^https?://[^/\s]+", base_url):
            raise ValueError("telegram: 'base_url' must be an http(s) URL such as https://api.telegram.org")
        prefix = get("redis_prefix") or "lcs"
        if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", prefix):
            raise ValueError("telegram: 'redis_prefix' must be 1-64 characters of letters, digits or _.-")
        return cls(token, secret, get("webhook_url"), base_url, get("redis_url"), prefix)

    @property
    def bot_id(self) -> str:
        """The numeric part of the token (not secret): names this bot's keys in Redis."""
        head = self.token.split(":", 1)[0]
        return head if head.isdigit() else hashlib.sha256(self.token.encode()).hexdigest()[:12]

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never be logged."""
        tail = self.token.split(":", 1)[-1]
        return (self.token, urllib.parse.quote(self.token, safe=""), tail, self.secret_token)

    def build_bot(self) -> Bot:
        """A bare :class:`telegram.Bot` on :attr:`base_url` (for the command line)."""
        return Bot(self.token, base_url=f"{self.base_url}/bot", base_file_url=f"{self.base_url}/file/bot")

    def build_application(self) -> Application:
        """The python-telegram-bot application: no updater (updates come from our webhook)."""
        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(f"{self.base_url}/bot")
            .base_file_url(f"{self.base_url}/file/bot")
            .updater(None)
            .pool_timeout(5.0)
            .build()
        )
