"""The project's settings: the only module that reads the environment.

Every environment variable the project reads is a field of :class:`Settings`, with its
default; ``Settings.from_env(env)`` builds them from a mapping (``os.environ`` when
``None``), and :func:`settings` is the process's copy, built on first use
(:func:`reset_settings` forgets it, for tests). Factories that take an ``env`` mapping
(tests pass one) build ``Settings.from_env(env)`` from it at each call, so a changed
environment is seen the next time they run, as before.

Redis: one ``REDIS_URL`` serves every use; a per-use variable (``HANDOFF_REDIS_URL``,
``LIMITS_REDIS_URL``, ``TELEGRAM_REDIS_URL``, ``WECHAT_REDIS_URL``) overrides it for that
use. ``LIMITS_REDIS_URL`` falls back to ``HANDOFF_REDIS_URL`` first (as it always did),
then ``REDIS_URL``. Each use keeps its own key prefix (``HANDOFF_REDIS_PREFIX`` ``lcs``,
``LIMITS_REDIS_PREFIX`` ``lcs:limits:``, ``TELEGRAM_REDIS_PREFIX`` ``lcs``,
``WECHAT_REDIS_PREFIX`` ``wechat``), so the uses never share keys.

Values are read as they are, with defaults applied; checks that can fail (a timeout that
is not a number, missing kuaidi100 credentials, a short widget secret) run where the value
is used, as before, and their messages name the variable.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Final, Mapping

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
"""The repository root: relative paths in the settings are taken from here."""

TRACKING_PROVIDERS: Final = ("demo", "kuaidi100")
DEFAULT_KUAIDI100_URL: Final = "https://poll.kuaidi100.com"
DEFAULT_TRACKING_TIMEOUT: Final = "2.5"


def _text(env: Mapping[str, str], name: str) -> str:
    """The stripped value of ``name``; empty when unset."""
    return (env.get(name) or "").strip()


def _first(*values: str) -> str | None:
    return next((v for v in values if v), None)


@dataclass(frozen=True)
class Settings:
    """Every environment variable the project reads (field = variable name in lower case).

    Attributes:
        tracking_provider: ``TRACKING_PROVIDER`` (``demo``), stripped and lower-cased.
        tracking_db: ``TRACKING_DB`` (``var/demo.db``), relative to the project root.
        tracking_fixtures: ``TRACKING_FIXTURES`` (``fixtures/shipments.yml``).
        tracking_timeout: ``TRACKING_TIMEOUT`` as given (``2.5``); see :attr:`tracking_timeout_seconds`.
        kuaidi100_customer: ``KUAIDI100_CUSTOMER`` (required by the kuaidi100 provider).
        kuaidi100_key: ``KUAIDI100_KEY`` (required by the kuaidi100 provider).
        kuaidi100_url: ``KUAIDI100_URL`` (``https://poll.kuaidi100.com``).
        kuaidi100_push_salt: ``KUAIDI100_PUSH_SALT``, the ``salt`` given when subscribing; the push
            endpoint ``POST /webhooks/proactive/kuaidi100`` checks each push's ``sign`` with it
            (empty: the endpoint is off, 503).
        outlets_file: ``OUTLETS_FILE`` (``fixtures/outlets.yml`` under the project root).
        policy_file: ``POLICY_FILE`` (``policy/policy.yml`` under the project root).
        tickets_db_url: ``TICKETS_DB_URL`` (SQLite ``var/tickets.db`` under the project root).
        agents_db_url: ``AGENTS_DB_URL``, else ``TICKETS_DB_URL``, else the tickets default.
        agent_password: ``AGENT_PASSWORD`` as given (``None`` when unset; empty counts as set).
        evidence_dir: ``EVIDENCE_DIR`` (``var/evidence``), relative to the project root.
        limits_file: ``LIMITS_FILE`` (``None``: ``policy/limits.yml``).
        redis_url: ``REDIS_URL``: the Redis every use below falls back to (``None``: in process).
        handoff_redis_url: ``HANDOFF_REDIS_URL``, else ``REDIS_URL``.
        handoff_redis_prefix: ``HANDOFF_REDIS_PREFIX`` (``lcs``).
        limits_redis_url: ``LIMITS_REDIS_URL``, else ``HANDOFF_REDIS_URL``, else ``REDIS_URL``.
        limits_redis_prefix: ``LIMITS_REDIS_PREFIX`` (``lcs:limits:``).
        telegram_token: ``TELEGRAM_TOKEN`` as given (``None``: channel off).
        telegram_secret_token: ``TELEGRAM_SECRET_TOKEN`` as given.
        telegram_webhook_url: ``TELEGRAM_WEBHOOK_URL`` as given.
        telegram_base_url: ``TELEGRAM_BASE_URL`` as given (``None``: ``https://api.telegram.org``).
        telegram_redis_url: ``TELEGRAM_REDIS_URL`` as given, else ``REDIS_URL``.
        telegram_redis_prefix: ``TELEGRAM_REDIS_PREFIX`` as given (``None``: ``lcs``).
        wechat_token: ``WECHAT_TOKEN`` as given (the three required WeChat settings unset: off).
        wechat_app_id: ``WECHAT_APP_ID`` as given.
        wechat_app_secret: ``WECHAT_APP_SECRET`` as given.
        wechat_encoding_aes_key: ``WECHAT_ENCODING_AES_KEY`` as given (safe mode when set).
        wechat_api_base_url: ``WECHAT_API_BASE_URL`` as given (``None``: WeChat's API).
        wechat_redis_url: ``WECHAT_REDIS_URL`` as given, else ``REDIS_URL``.
        wechat_redis_prefix: ``WECHAT_REDIS_PREFIX`` as given (``None``: ``wechat``).
        wechat_template_id: ``WECHAT_TEMPLATE_ID``: the template message (模板消息) a proactive notice
            falls back to outside the 48-hour customer-service window (``None``: undeliverable there).
        wechat_template_url: ``WECHAT_TEMPLATE_URL``: the page that template message opens (optional).
        widget_secret: ``WIDGET_SECRET`` (``None``: generated into the secret file).
        widget_secret_file: ``WIDGET_SECRET_FILE`` (``None``: ``var/widget_secret``).
        widget_allowed_origins: ``WIDGET_ALLOWED_ORIGINS``, comma-separated (empty: same origin only).
        rest_api_keys: ``REST_API_KEYS``, ``name:secret,…`` (empty: local clients only).
        trusted_proxies: ``TRUSTED_PROXIES``, comma-separated (empty: no forwarded header believed).
        rasa_url: ``RASA_URL`` (``http://127.0.0.1:5005``), used by ``python -m connectors.telegram poll``.
        user: ``USER`` (``operator``), the default actor of the tickets CLI.
        escalation_webhook_url: ``ESCALATION_WEBHOOK_URL`` (``None``: no webhook), where overdue and
            escalated tickets are posted for supervisors (``bot.tickets.escalation.post_alerts``).
        environ: The whole mapping the settings were read from, for the ``"${VAR}"``
            references of ``credentials.yml`` (which may name any variable).
    """

    tracking_provider: str = "demo"
    tracking_db: str = "var/demo.db"
    tracking_fixtures: str = "fixtures/shipments.yml"
    tracking_timeout: str = DEFAULT_TRACKING_TIMEOUT
    kuaidi100_customer: str = field(default="", repr=False)
    kuaidi100_key: str = field(default="", repr=False)
    kuaidi100_url: str = DEFAULT_KUAIDI100_URL
    kuaidi100_push_salt: str = field(default="", repr=False)
    outlets_file: str = str(PROJECT_ROOT / "fixtures" / "outlets.yml")
    policy_file: str = str(PROJECT_ROOT / "policy" / "policy.yml")
    tickets_db_url: str = field(default=f"sqlite:///{PROJECT_ROOT / 'var' / 'tickets.db'}", repr=False)
    agents_db_url: str = field(default=f"sqlite:///{PROJECT_ROOT / 'var' / 'tickets.db'}", repr=False)
    agent_password: str | None = field(default=None, repr=False)
    evidence_dir: str = "var/evidence"
    limits_file: str | None = None
    redis_url: str | None = field(default=None, repr=False)
    handoff_redis_url: str | None = field(default=None, repr=False)
    handoff_redis_prefix: str = "lcs"
    limits_redis_url: str | None = field(default=None, repr=False)
    limits_redis_prefix: str = "lcs:limits:"
    telegram_token: str | None = field(default=None, repr=False)
    telegram_secret_token: str | None = field(default=None, repr=False)
    telegram_webhook_url: str | None = None
    telegram_base_url: str | None = None
    telegram_redis_url: str | None = field(default=None, repr=False)
    telegram_redis_prefix: str | None = None
    wechat_token: str | None = field(default=None, repr=False)
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = field(default=None, repr=False)
    wechat_encoding_aes_key: str | None = field(default=None, repr=False)
    wechat_api_base_url: str | None = None
    wechat_redis_url: str | None = field(default=None, repr=False)
    wechat_redis_prefix: str | None = None
    wechat_template_id: str | None = None
    wechat_template_url: str | None = None
    widget_secret: str | None = field(default=None, repr=False)
    widget_secret_file: str | None = None
    widget_allowed_origins: str = ""
    rest_api_keys: str = field(default="", repr=False)
    trusted_proxies: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    user: str = "operator"
    escalation_webhook_url: str | None = field(default=None, repr=False)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: the process environment, read now).

        Never raises: the checks run where each value is used (see the module docstring).
        """
        env = os.environ if env is None else env
        redis_url = _text(env, "REDIS_URL") or None
        handoff_redis_url = _text(env, "HANDOFF_REDIS_URL")
        defaults = cls()
        tickets_db_url = _text(env, "TICKETS_DB_URL") or defaults.tickets_db_url
        return cls(
            tracking_provider=(env.get("TRACKING_PROVIDER") or defaults.tracking_provider).strip().lower(),
            tracking_db=env.get("TRACKING_DB") or defaults.tracking_db,
            tracking_fixtures=env.get("TRACKING_FIXTURES") or defaults.tracking_fixtures,
            tracking_timeout=env.get("TRACKING_TIMEOUT") or defaults.tracking_timeout,
            kuaidi100_customer=_text(env, "KUAIDI100_CUSTOMER"),
            kuaidi100_key=_text(env, "KUAIDI100_KEY"),
            kuaidi100_url=env.get("KUAIDI100_URL") or defaults.kuaidi100_url,
            kuaidi100_push_salt=_text(env, "KUAIDI100_PUSH_SALT"),
            outlets_file=env.get("OUTLETS_FILE") or defaults.outlets_file,
            policy_file=env.get("POLICY_FILE") or defaults.policy_file,
            tickets_db_url=tickets_db_url,
            agents_db_url=_text(env, "AGENTS_DB_URL") or tickets_db_url,
            agent_password=env.get("AGENT_PASSWORD"),
            evidence_dir=env.get("EVIDENCE_DIR") or defaults.evidence_dir,
            limits_file=_text(env, "LIMITS_FILE") or None,
            redis_url=redis_url,
            handoff_redis_url=_first(handoff_redis_url) or redis_url,
            handoff_redis_prefix=_text(env, "HANDOFF_REDIS_PREFIX") or defaults.handoff_redis_prefix,
            limits_redis_url=_first(_text(env, "LIMITS_REDIS_URL"), handoff_redis_url) or redis_url,
            limits_redis_prefix=_text(env, "LIMITS_REDIS_PREFIX") or defaults.limits_redis_prefix,
            telegram_token=env.get("TELEGRAM_TOKEN"),
            telegram_secret_token=env.get("TELEGRAM_SECRET_TOKEN"),
            telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL"),
            telegram_base_url=env.get("TELEGRAM_BASE_URL"),
            telegram_redis_url=env.get("TELEGRAM_REDIS_URL") or redis_url,
            telegram_redis_prefix=env.get("TELEGRAM_REDIS_PREFIX"),
            wechat_token=env.get("WECHAT_TOKEN"),
            wechat_app_id=env.get("WECHAT_APP_ID"),
            wechat_app_secret=env.get("WECHAT_APP_SECRET"),
            wechat_encoding_aes_key=env.get("WECHAT_ENCODING_AES_KEY"),
            wechat_api_base_url=env.get("WECHAT_API_BASE_URL"),
            wechat_redis_url=env.get("WECHAT_REDIS_URL") or redis_url,
            wechat_redis_prefix=env.get("WECHAT_REDIS_PREFIX"),
            wechat_template_id=_text(env, "WECHAT_TEMPLATE_ID") or None,
            wechat_template_url=_text(env, "WECHAT_TEMPLATE_URL") or None,
            widget_secret=_text(env, "WIDGET_SECRET") or None,
            widget_secret_file=env.get("WIDGET_SECRET_FILE") or None,
            widget_allowed_origins=env.get("WIDGET_ALLOWED_ORIGINS") or "",
            rest_api_keys=_text(env, "REST_API_KEYS"),
            trusted_proxies=_text(env, "TRUSTED_PROXIES"),
            rasa_url=env.get("RASA_URL", defaults.rasa_url),
            user=env.get("USER", defaults.user),
            escalation_webhook_url=_text(env, "ESCALATION_WEBHOOK_URL") or None,
            environ=MappingProxyType(dict(env)),
        )

    # --- values checked where they are used -----------------------------------------------------

    @property
    def tracking_timeout_seconds(self) -> float:
        """``TRACKING_TIMEOUT`` in seconds.

        Raises:
            ValueError: Not a positive number (the message names ``TRACKING_TIMEOUT``).
        """
        try:
            timeout = float(self.tracking_timeout)
        except ValueError:
            timeout = -1.0
        if not timeout > 0:
            raise ValueError(f"TRACKING_TIMEOUT must be a positive number of seconds, got {self.tracking_timeout!r}")
        return timeout

    def kuaidi100_credentials(self) -> tuple[str, str]:
        """``KUAIDI100_CUSTOMER`` and ``KUAIDI100_KEY``.

        Raises:
            ValueError: One or both are missing (the message names them).
        """
        pairs = (("KUAIDI100_CUSTOMER", self.kuaidi100_customer), ("KUAIDI100_KEY", self.kuaidi100_key))
        missing = [name for name, value in pairs if not value]
        if missing:
            raise ValueError(f"TRACKING_PROVIDER=kuaidi100 needs {' and '.join(missing)} to be set")
        return self.kuaidi100_customer, self.kuaidi100_key

    def check_tracking_provider(self) -> str:
        """``TRACKING_PROVIDER``, one of :data:`TRACKING_PROVIDERS`.

        Raises:
            ValueError: Another name (the message names ``TRACKING_PROVIDER``).
        """
        if self.tracking_provider not in TRACKING_PROVIDERS:
            expected = ", ".join(TRACKING_PROVIDERS)
            raise ValueError(f"unknown TRACKING_PROVIDER {self.tracking_provider!r}; expected one of: {expected}")
        return self.tracking_provider

    def project_path(self, value: str) -> Path:
        """``value`` as a path; a relative one is taken from :data:`PROJECT_ROOT`."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else PROJECT_ROOT / path


VARIABLES: Final = tuple(f.name.upper() for f in fields(Settings) if f.name != "environ")
"""Names of the variables read, one per field."""


def expand_references(text: str) -> str:
    """``$VAR`` and ``${VAR}`` in ``text`` replaced from the process environment (unset ones stay).

    The Telegram channel's ``credentials.yml`` values may name any variable this way.
    """
    return os.path.expandvars(text)


_lock = threading.Lock()
_current: Settings | None = None


def settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Settings.from_env()
        return _current


def reset_settings(value: Settings | None = None) -> None:
    """Replace the process's settings (tests); ``None`` reads the environment again on next use."""
    global _current
    with _lock:
        _current = value
