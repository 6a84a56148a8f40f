"""The REST channel, hardened for customer traffic.

Same URL and JSON as Rasa's stock REST channel (``POST /webhooks/rest/webhook``
with ``{"sender": "...", "message": "..."}``, answered with a list of
``{"recipient_id", "text"}``), but:

* the payload is checked first: a non-object body, a missing or odd ``sender``,
  a non-string ``message`` or non-object ``metadata`` get a 400 with a reason;
* text is cleaned by ``bot.text.prepare_customer_text`` (control characters,
  length, a leading ``/`` that Rasa would run as an intent command);
* photos in ``metadata.attachments`` (base64) are checked and stored at the edge
  (``bot.attachments.ingest``): Rasa only ever sees references and error codes;
  a message with photos and no text becomes the ``/send_photo`` intent;
* an empty message gets a polite answer instead of a trip through NLU;
* while an agent has the conversation (the bot is paused) the answer holds the
  agent's messages waiting in the outbox, possibly none; ``GET /poll?sender=…``
  collects them between messages;
* if handling fails, the customer gets an apology, never an empty list;
* logs carry neither the text nor the sender id.
"""

from __future__ import annotations

import hashlib
import logging
import re
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.evidence import EvidenceStore, store_from_env
from connectors import live
from connectors.inbound import customer_text, is_paused

logger = logging.getLogger(__name__)

SENDER_PATTERN = re.compile(r"^[A-Za-z0-9_.:@\-]{1,128}$")
"""Sender ids the channel accepts: what web sessions, Telegram and WeChat ids look like."""

EMPTY_REPLY = (
    "您好像发了一条空消息，请告诉我运单号或您遇到的问题。\n"
    "Your message seems empty: please send a tracking number or tell me what happened."
)
FAILURE_REPLY = (
    "抱歉，系统刚才出了点问题，请稍后再发一次，或回复“转人工”。\n"
    "Sorry, something went wrong on our side. Please send that again in a moment, or say \"human agent\"."
)


def sender_tag(sender_id: str) -> str:
    """A short hash of a sender id, for logs that must not carry the id itself."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:10]


class PayloadError(ValueError):
    """The request body is not a valid message."""


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
    sender = body.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not SENDER_PATTERN.match(sender):
        raise PayloadError("'sender' must be 1-128 characters of letters, digits or _.:@-")
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
    """REST input channel for customer-facing clients (web widget, tests, curl)."""

    _evidence: EvidenceStore | None = None

    def evidence(self) -> EvidenceStore:
        """The evidence store photos go to (``EVIDENCE_DIR``), built on first use."""
        if self._evidence is None:
            self._evidence = store_from_env()
        return self._evidence

    @classmethod
    def name(cls) -> str:
        """The channel's name, which is also its URL segment."""
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Routes: ``GET /`` health check and ``POST /webhook`` for messages."""
        hook = Blueprint(f"customer_rest_{id(self)}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/poll", methods=["GET"])
        async def poll(request: Request) -> HTTPResponse:
            sender = request.args.get("sender") or ""
            if not SENDER_PATTERN.match(sender):
                return response.json({"error": "'sender' must be 1-128 characters of letters, digits or _.:@-"},
                                     status=400)
            return response.json(live.outbox().take(sender))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # sanic raises its own InvalidUsage on bad JSON
                logger.info("rest: rejected a body that is not JSON")
                return response.json({"error": "body must be JSON"}, status=400)
            try:
                sender, raw_text, metadata = parse_payload(body)
            except PayloadError as exc:
                logger.info("rest: rejected payload: %s", exc)
                return response.json({"error": str(exc)}, status=400)

            text, metadata = await customer_text(raw_text, metadata, self.evidence(), "rest")
            if not text:
                return response.json([{"recipient_id": sender, "text": EMPTY_REPLY}])

            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except CancelledError:
                logger.error("rest: handling timed out (sender %s)", sender_tag(sender))
            except Exception as exc:  # the customer must still get an answer
                logger.error(
                    "rest: handling failed with %s (sender %s)",
                    type(exc).__name__,
                    sender_tag(sender),
                )
            pending = live.outbox().take(sender)
            if not collector.messages and not pending and not await is_paused(request.app, sender, "rest"):
                collector.messages.append({"recipient_id": sender, "text": FAILURE_REPLY})
            return response.json(pending + collector.messages)

        return hook

