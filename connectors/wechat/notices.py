"""Proactive notices on WeChat: a customer-service message, else a template message, else a clear refusal.

A customer-service message (客服消息) reaches a customer only within 48 hours of their last
message (WeChat answers 45015 outside that window, 45047 when the replies allowed after one
message are used up). A notice the runner sends (:func:`connectors.common.senders.deliver_proactive`)
goes, in order:

1. as a customer-service text, like a bot reply;
2. refused with 45015 or 45047 and a template configured (``WECHAT_TEMPLATE_ID``, optional
   ``WECHAT_TEMPLATE_URL``): as that template message (模板消息), whose fields are filled by
   :func:`template_data` (``first``: the headline, ``keyword1``: the status, ``remark``: how to
   stop the updates);
3. otherwise, or when the template message is refused too:
   :class:`connectors.common.senders.Undeliverable` with a short reason, stored with the
   notice and shown to supervisors: ``wechat:45015`` (no template), ``wechat:45015+template:43004``
   (the template refused: 43004 the customer no longer follows the account, 40037 unknown
   template), ``wechat:45009`` (any other API error, no fallback), ``wechat:error`` (no access
   token, network). Logs carry only a hash of the openid, never the notice.

Ordinary bot replies keep :meth:`connectors.wechat.api.WeChatApi.send_text`, which logs and drops.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

from connectors.common.log_redaction import sender_tag
from connectors.common.senders import Undeliverable
from connectors.wechat.api import QUOTA_ERRORS, WINDOW_CLOSED, WeChatApi, WeChatApiError, WeChatError
from connectors.wechat.buttons import ButtonMemory, compose
from connectors.wechat.output import openid_of, parts_of

logger = logging.getLogger(__name__)

FALLBACK_ERRORS = frozenset({WINDOW_CLOSED}) | (QUOTA_ERRORS - {45009})
"""Refusals of a customer-service message that a template message can get around (45015, 45047)."""


@dataclass(frozen=True)
class NoticeTemplate:
    """The template message notices fall back to outside the window.

    Attributes:
        template_id: The template's id (admin console: 模板消息 → 我的模板).
        url: The page the message opens, or ``None``.
    """

    template_id: str
    url: str | None = None


def template_data(text: str) -> dict[str, str]:
    """A notice's text as template fields: ``first`` (headline), ``keyword1`` (status), ``remark`` (last line).

    One line: ``first`` and ``keyword1`` both carry it and ``remark`` is empty; two lines:
    the first is also ``keyword1``.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()] or [""]
    first = lines[0]
    remark = lines[-1] if len(lines) > 1 else ""
    keyword = "\n".join(lines[1:-1]) if len(lines) > 2 else first
    return {"first": first, "keyword1": keyword, "remark": remark}


def _reason(exc: WeChatError) -> str:
    return f"wechat:{exc.errcode}" if isinstance(exc, WeChatApiError) else "wechat:error"


class NoticeSender:
    """The proactive sender of the WeChat channel (registered with ``senders.register(..., proactive=True)``).

    Args:
        api: The API client.
        memory: Where numbered options go (a notice with buttons).
        template: The template fallback, or ``None``.
    """

    def __init__(self, api: WeChatApi, memory: ButtonMemory, template: NoticeTemplate | None = None) -> None:
        self._api = api
        self._memory = memory
        self.template = template

    async def __call__(self, conversation: str, messages: Sequence[dict[str, Any]]) -> None:
        """Send one notice to a ``wx-`` conversation.

        Raises:
            Undeliverable: With the reason (see the module docstring).
        """
        openid = openid_of(conversation)
        if openid is None:
            raise Undeliverable("wechat:foreign-conversation")
        text, payloads = compose(parts_of(messages))
        if not text:
            return
        tag = sender_tag(openid)
        try:
            await self._api.send_text_or_raise(openid, text)
        except WeChatApiError as exc:
            if exc.errcode not in FALLBACK_ERRORS or self.template is None:
                logger.warning("wechat: notice to customer %s not delivered (errcode %d)", tag, exc.errcode)
                raise Undeliverable(_reason(exc)) from None
            await self._by_template(openid, text, _reason(exc), tag)
            return
        except WeChatError as exc:
            logger.warning("wechat: notice to customer %s not delivered: %s", tag, exc)
            raise Undeliverable(_reason(exc)) from None
        if payloads:
            await self._memory.remember(openid, payloads)

    async def _by_template(self, openid: str, text: str, first_reason: str, tag: str) -> None:
        assert self.template is not None
        try:
            await self._api.send_template(openid, self.template.template_id, template_data(text), self.template.url)
        except WeChatError as exc:
            code = exc.errcode if isinstance(exc, WeChatApiError) else "error"
            logger.warning("wechat: template notice to customer %s refused too (%s, then %s)", tag, first_reason, code)
            raise Undeliverable(f"{first_reason}+template:{code}") from None
        logger.info("wechat: notice to customer %s sent as a template message (%s)", tag, first_reason)
