"""Secrets never reach the logs: one filter for every channel.

:class:`SecretRedactor` replaces two kinds of secret with ``<redacted>`` in a log record
(message, traceback and stack) and drops nothing:

* the literal values a channel registers with :func:`protect_secrets` (Telegram's bot
  token and webhook secret, WeChat's app secret);
* the value of every ``access_token=`` and ``secret=`` URL parameter, whoever wrote it
  (WeChat's access tokens change every two hours, so they cannot be registered: httpx logs
  ``HTTP Request: GET https://api.weixin.qq.com/cgi-bin/...?access_token=...``).

:func:`protect_secrets` applies the process-wide :data:`REDACTOR` to every record when the
record is created (a log record factory), so it covers every logger (``httpx``,
``telegram.*``, ours) and every handler, including ones added later. Records of the HTTP
libraries' loggers are formatted there and then: python-telegram-bot logs a dict, then
adds the file URL (with the token) to that same dict, so formatting it later would show
the token.

:func:`sender_tag` is the one way a customer appears in a log line: a short hash of the
conversation id, never the id itself.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from typing import Any

REDACTED = "<redacted>"
_SECRET_PARAMS = re.compile(r"((?:access_token|secret)=)[^&\s\"']+")
_FROZEN_LOGGERS = ("telegram", "httpx", "httpcore", "connectors.telegram.")
MIN_SECRET_CHARS = 8
"""Registered strings shorter than this are ignored (they would blank out ordinary words)."""


def sender_tag(sender_id: str) -> str:
    """A short hash of a sender id, for logs that must not carry the id itself."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:10]


class SecretRedactor(logging.Filter):
    """A logging filter that replaces secrets with ``<redacted>``; it drops nothing."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()

    def add(self, secret: str) -> None:
        """Start redacting ``secret`` (strings shorter than :data:`MIN_SECRET_CHARS` are ignored)."""
        if len(secret) >= MIN_SECRET_CHARS and secret not in self._secrets:
            self._secrets = tuple(sorted({*self._secrets, secret}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret and secret URL parameter replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if "token=" in text or "secret=" in text:
            text = _SECRET_PARAMS.sub(rf"\1{REDACTED}", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record's message, traceback and stack in place; always keep it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        redacted = self.redact(message)
        if redacted != message or record.name.startswith(_FROZEN_LOGGERS):
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if self.redact(text) != text:
                record.exc_text = self.redact(text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = SecretRedactor()
_factory_lock = threading.Lock()
_factory_installed = False


def protect_secrets(*values: str) -> None:
    """Keep ``values`` (and every ``access_token=``/``secret=`` parameter) out of this process's logs from now on.

    Args:
        values: Secrets to register (a bot token, its secret part, a webhook or app secret).
    """
    global _factory_installed
    for value in values:
        REDACTOR.add(value)
    with _factory_lock:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            REDACTOR.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True
