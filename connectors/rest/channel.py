"""The REST channel, hardened for customer traffic and meant for trusted integrations.

Same URL and JSON as Rasa's stock REST channel (``POST /webhooks/rest/webhook``
with ``{"sender": "...", "message": "..."}``, answered with a list of
``{"recipient_id", "text"}``), but:

* **who may call it**: with ``REST_API_KEYS`` set (comma-separated ``name:secret``,
  secrets of at least 24 characters) every request needs ``Authorization: Bearer
  <secret>`` (compared in constant time with every key) and the conversations it
  reaches are its own: the Rasa conversation id is ``<name>:<sender>``, so two
  integrations, or an integration and a widget customer, never share one, and
  ``GET /poll`` only serves the caller's own. Without ``REST_API_KEYS`` (the embedded
  ``make run`` demo) the channel answers only clients on this host (loopback peer, no
  proxy headers); anyone else gets 401 naming ``REST_API_KEYS``;
* **no other channel's customers**: a ``sender`` in another channel's namespace
  (``w-``, ``tg-``, ``wx-``: :data:`connectors.common.senders.RESERVED_PREFIXES`) is refused
  with 400, for messages and polls alike;
* **limits before work**: a body over ``body_bytes.rest_webhook`` is refused (413)
  before it is read (:mod:`connectors.common.server_limits`); requests are counted per client
  address (``rest_per_address``) or per credential (``rest_per_credential``) before the
  JSON is parsed, and messages per conversation (``rest_per_sender``) after: over a
  rate, 429 with ``Retry-After``;
* the payload is checked: a non-object body, a missing or odd ``sender``, a non-string
  ``message`` or non-object ``metadata`` get a 400 with a reason; ``metadata`` keeps only
  its documented shape (:mod:`connectors.common.metadata`), the rest is dropped, never stored;
* text is cleaned by ``bot.common.text.prepare_customer_text`` (cut first, then control
  characters, length, a leading ``/`` that Rasa would run as an intent command);
* photos in ``metadata.attachments`` (base64) are checked and stored at the edge
  while a damage claim is being filed (:func:`connectors.common.inbound.store_photos`): Rasa
  only ever sees references and error codes; a message with photos and no text becomes
  the ``/send_photo`` intent;
* an empty message gets a polite answer instead of a trip through NLU;
* while an agent has the conversation (the bot is paused) the answer holds the
  agent's messages waiting in the outbox, possibly none; ``GET /poll?sender=…``
  collects them between messages;
* if handling fails, the customer gets an apology, never an empty list;
* logs carry neither the text nor the sender id.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Mapping, Sequence

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.claims.evidence import EvidenceStore, store_from_env
from bot.settings import Settings
from connectors.common.http import PayloadError, bearer, parse_json, same_secret
from connectors.common.inbound import customer_text
from connectors.common.metadata import MetadataError
from connectors.common.proxy import client_address
from connectors.common.replies import EMPTY_REPLY
from connectors.common.senders import RESERVED_PREFIXES, SENDER_PATTERN
from connectors.common.server_limits import (
    LimitedBlueprint,
    body_limit,
    is_loopback_client,
    rate_limited,
    too_large,
)
from connectors.common.turn import collected_turn
from connectors.console import live

logger = logging.getLogger(__name__)

KEY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,32}$")
"""Names of ``REST_API_KEYS`` credentials (they prefix the conversation ids: no ``:`` or ``-``)."""
MIN_KEY_SECRET_CHARS = 24
NEEDS_KEY = (
    "the REST channel answers only clients on this host unless REST_API_KEYS is set; "
    "send 'Authorization: Bearer <secret>' with a key from REST_API_KEYS"
)
BAD_KEY = "missing or invalid REST credential: send 'Authorization: Bearer <secret>' (REST_API_KEYS)"


@dataclass(frozen=True)
class ApiKey:
    """One REST credential: its name (prefix of its conversations) and secret."""

    name: str
    secret: str

    def __repr__(self) -> str:
        return f"ApiKey(name={self.name!r}, secret=<hidden>)"


def load_api_keys(env: Mapping[str, str] | None = None) -> tuple[ApiKey, ...]:
    """The credentials of ``REST_API_KEYS`` (comma-separated ``name:secret``); empty when unset.

    Args:
        env: Environment to read (default: the process's), through :class:`bot.settings.Settings`.

    Raises:
        ValueError: A malformed entry, a name used twice, or a secret shorter than 24
            characters (the message names the entry by position and name, never the secret).
    """
    raw = Settings.from_env(env).rest_api_keys
    keys: list[ApiKey] = []
    for position, entry in enumerate((e.strip() for e in raw.split(",")), start=1):
        if not entry:
            continue
        name, colon, secret = entry.partition(":")
        name, secret = name.strip(), secret.strip()
        if not colon or not KEY_NAME_PATTERN.match(name):
            raise ValueError(f"REST_API_KEYS entry {position}: must be name:secret, name of 1-32 letters, digits or _")
        if len(secret) < MIN_KEY_SECRET_CHARS:
            raise ValueError(f"REST_API_KEYS entry {position} ({name}): the secret must be at least "
                             f"{MIN_KEY_SECRET_CHARS} characters")  # fmt: skip
        if any(k.name == name for k in keys):
            raise ValueError(f"REST_API_KEYS entry {position}: the name {name} is used twice")
        keys.append(ApiKey(name, secret))
    return tuple(keys)


def match_key(keys: Sequence[ApiKey], presented: str | None) -> str | None:
    """The name of the credential whose secret is ``presented``; every key is compared, in constant time."""
    if not presented:
        return None
    found = None
    for key in keys:
        if same_secret(key.secret, presented):
            found = key.name
    return found


def conversation_id(credential: str | None, sender: str) -> str:
    """The Rasa conversation of a REST sender: ``<credential>:<sender>``, or the sender itself in the demo."""
    return sender if credential is None else f"{credential}:{sender}"


def as_reply(messages: Sequence[Mapping[str, Any]], sender: str) -> list[dict[str, Any]]:
    """Messages addressed back to the caller's own ``sender`` (not the namespaced conversation id)."""
    return [{**message, "recipient_id": sender} for message in messages]


def check_sender(sender: Any) -> str:
    """A sender id the REST channel may use.

    Raises:
        PayloadError: Not 1-128 characters of ``[A-Za-z0-9_.:@-]``, or in another channel's namespace.
    """
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not SENDER_PATTERN.match(sender):
        raise PayloadError("'sender' must be 1-128 characters of letters, digits or _.:@-")
    if sender.startswith(RESERVED_PREFIXES):
        raise PayloadError(f"'sender' must not start with {', '.join(RESERVED_PREFIXES)} (other channels' customers)")
    return sender


def parse_payload(body: Any) -> tuple[str, str, Dict[str, Any] | None]:
    """Check a REST message body.

    Args:
        body: The decoded JSON body.

    Returns:
        ``(sender_id, raw_text, metadata)``.

    Raises:
        PayloadError: With a reason fit to send back to the caller.
    """
    if not isinstance(body, dict):
        raise PayloadError("body must be a JSON object")
    sender = check_sender(body.get("sender"))
    text = body.get("message", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise PayloadError("'message' must be a string")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise PayloadError("'metadata' must be a JSON object")
    return sender, text, metadata


class CustomerRestInput(InputChannel):
    """REST input channel for trusted integrations (and the loopback demo)."""

    _evidence: EvidenceStore | None = None

    def __init__(self, keys: Sequence[ApiKey] | None = None) -> None:
        """Credentials from ``REST_API_KEYS`` unless given.

        Raises:
            ValueError: ``REST_API_KEYS`` is malformed (Rasa then refuses to start).
        """
        self.keys = tuple(load_api_keys() if keys is None else keys)

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> CustomerRestInput:
        """Built from ``credentials.yml`` (no keys: settings come from the environment)."""
        return cls()

    def evidence(self) -> EvidenceStore:
        """The evidence store photos go to (``EVIDENCE_DIR``), built on first use."""
        if self._evidence is None:
            self._evidence = store_from_env()
        return self._evidence

    @classmethod
    def name(cls) -> str:
        """The channel's name, which is also its URL segment."""
        return "rest"

    async def admit(self, request: Request) -> tuple[str | None, HTTPResponse | None]:
        """Who is calling: ``(credential name or None in the demo, None)`` or ``(None, refusal)``.

        Requests are counted per credential, or per client address for the demo and for
        refused callers (so guessing and floods meet 429 too).
        """
        address = client_address(request)
        if self.keys:
            credential = match_key(self.keys, bearer(request.headers.get("authorization")))
            refusal = None if credential is not None else response.json({"error": BAD_KEY}, status=401)
        else:
            credential = None
            refusal = None if is_loopback_client(request) else response.json({"error": NEEDS_KEY}, status=401)
        if refusal is not None:
            logger.info("rest: refused a caller without a valid credential")
            return None, await rate_limited([("rest_per_address", address)]) or refusal
        checks = [("rest_per_credential", credential)] if credential else [("rest_per_address", address)]
        return credential, await rate_limited(checks)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: ``GET /`` health check, ``GET /poll`` for agent messages and ``POST /webhook`` for messages."""
        hook = LimitedBlueprint(f"customer_rest_{id(self)}", __name__)

        @hook.route("/", methods=["GET"])
        @body_limit("rest_small")
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/poll", methods=["GET"])
        @body_limit("rest_small")
        async def poll(request: Request) -> HTTPResponse:
            refused = too_large(request, "rest_small")
            if refused is not None:
                return refused
            credential, refusal = await self.admit(request)
            if refusal is not None:
                return refusal
            try:
                sender = check_sender(request.args.get("sender") or "")
            except PayloadError as exc:
                return response.json({"error": str(exc)}, status=400)
            return response.json(as_reply(live.outbox().take(conversation_id(credential, sender)), sender))

        @hook.route("/webhook", methods=["POST"])
        @body_limit("rest_webhook")
        async def receive(request: Request) -> HTTPResponse:
            refused = too_large(request, "rest_webhook")
            if refused is not None:
                return refused
            credential, refusal = await self.admit(request)
            if refusal is not None:
                return refusal
            try:
                sender, raw_text, metadata = parse_payload(parse_json(request.body))
            except PayloadError as exc:
                logger.info("rest: rejected payload: %s", exc)
                return response.json({"error": str(exc)}, status=400)
            cid = conversation_id(credential, sender)
            slow = await rate_limited([("rest_per_sender", cid)])
            if slow is not None:
                return slow
            try:
                text, metadata = await customer_text(raw_text, metadata, self.evidence(), "rest",
                                                     app=request.app, sender_id=cid,
                                                     address=client_address(request))  # fmt: skip
            except MetadataError as exc:
                return response.json({"error": str(exc)}, status=400)
            if not text:
                return response.json([{"recipient_id": sender, "text": EMPTY_REPLY}])

            replies = await collected_turn(on_new_message, text, cid, self.name(), app=request.app, metadata=metadata)
            return response.json(as_reply(replies, sender))

        return hook
