"""Outbound side of the WeChat Official Account channel: the API client and the state it shares.

* The channel keeps what several replicas must agree on in :mod:`bot.common.kv` (Redis, or
  this process without ``redis_url``): the message ids already seen (de-duplication), the
  access token, the lock that lets one replica at a time refresh it, and the last buttons
  shown to each customer.
* :class:`WeChatApi` talks to ``api.weixin.qq.com`` (or a fake, via ``base_url``) with
  ``httpx.AsyncClient`` and a timeout on every call: the access token
  (``GET /cgi-bin/token``), customer-service text messages (客服消息,
  ``POST /cgi-bin/message/custom/send``), template messages (模板消息,
  ``POST /cgi-bin/message/template/send``, for proactive notices outside the 48-hour
  window, :mod:`connectors.wechat.notices`) and media downloads (``GET /cgi-bin/media/get``).

Access token rules: it is cached until ``expires_in`` − 300 s; fetching a new one
invalidates the others, so only the replica holding the refresh lock fetches, the others
wait briefly and re-read. A call answered with 40001, 40014 or 42001 (bad or expired token)
refreshes it once and retries. 45015 (the customer wrote more than 48 hours ago) and
45009/45047 (quota) are logged and the message is dropped by :meth:`WeChatApi.send_text`
(bot replies); :meth:`WeChatApi.send_text_or_raise` and :meth:`WeChatApi.send_template`
raise them instead (proactive notices, which must be recorded as undeliverable).

Logs never carry the app secret, access tokens, message text or openids (only a short
hash): :func:`connectors.common.log_redaction.protect_secrets` redacts the secret and every
``access_token=`` parameter (httpx's own request log line included).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import weakref
from typing import Any

import httpx

from bot.claims.limits import MAX_IMAGE_BYTES
from bot.common.kv import KeyValueStore, StoreUnavailable
from bot.common.text_split import split_text, utf8_bytes
from connectors.common.log_redaction import protect_secrets, sender_tag

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
"""Error codes meaning "this access token is invalid or expired": refresh once and retry."""
WINDOW_CLOSED = 45015
"""The customer has not written for 48 hours: customer-service messages are refused."""
QUOTA_ERRORS = frozenset({45009, 45047})
"""API call quota (45009) or reply quota per customer message (45047) used up."""
MAX_TEXT_BYTES = 2000
"""Longest text (UTF-8 bytes) sent in one customer-service message; longer texts are split."""
TOKEN_MARGIN_SECONDS = 300
REFRESH_LOCK_SECONDS = 10.0
LOCK_WAIT_SECONDS = 5.0
MEDIA_DEADLINE_SECONDS = 20.0


class WeChatError(Exception):
    """An outbound call failed; the message says why and carries no secret or customer data."""


class WeChatApiError(WeChatError):
    """The API answered with a non-zero ``errcode``.

    Attributes:
        errcode: WeChat's error code.
    """

    def __init__(self, errcode: int, call: str) -> None:
        super().__init__(f"{call}: errcode {errcode}")
        self.errcode = errcode


class MediaTooLarge(WeChatError):
    """A media download went over the size cap."""


def _errcode(reply: dict[str, Any]) -> int:
    code = reply.get("errcode", 0)
    try:
        return int(code)
    except (TypeError, ValueError):
        return -1


class WeChatApi:
    """Client of the Official Account API for one app.

    Args:
        app_id: The Official Account's AppID.
        app_secret: Its AppSecret (never logged).
        store: Where the access token and its refresh lock live (``token:<app id>``, ``token-lock:<app id>``).
        base_url: API root, ``https://api.weixin.qq.com`` unless testing.
        timeout: Timeout of each HTTP call, in seconds.
        max_media_bytes: Largest media download accepted.
        lock_wait: How long a replica waits for another one's token refresh, in seconds.
    """

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        store: KeyValueStore,
        *,
        base_url: str = DEFAULT_API_BASE_URL,
        timeout: float = 5.0,
        max_media_bytes: int = MAX_IMAGE_BYTES,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self.app_id = app_id
        self._secret = app_secret
        self.store = store
        self.base_url = base_url.rstrip("/")
        self._token_key = f"token:{app_id}"
        self._lock_key = f"token-lock:{app_id}"
        self._timeout = timeout
        self._max_media_bytes = max_media_bytes
        self._lock_wait = lock_wait
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        protect_secrets(app_secret)

    def __repr__(self) -> str:
        return f"WeChatApi(app_id={self.app_id!r}, base_url={self.base_url!r})"

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                base_url=self.base_url, timeout=httpx.Timeout(self._timeout), follow_redirects=False
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the HTTP client and store connections of the running loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
        await self.store.aclose()

    # access token ---------------------------------------------------------------------------

    async def access_token(self, rejected: str | None = None) -> str:
        """A valid access token: the cached one, or a fresh one fetched by one replica at a time.

        Args:
            rejected: A token the API just refused; a cached token equal to it is not reused.

        Returns:
            The token.

        Raises:
            WeChatError: No token could be had (API error, network, store down, lock timeout).
        """
        try:
            for _ in range(2):
                token = await self.store.get(self._token_key)
                if token and token != rejected:
                    return token
                holder = secrets.token_hex(8)
                if await self.store.add(self._lock_key, holder, REFRESH_LOCK_SECONDS):
                    try:
                        token = await self.store.get(self._token_key)
                        if token and token != rejected:
                            return token
                        token, expires_in = await self._fetch_token()
                        ttl = max(60, expires_in - TOKEN_MARGIN_SECONDS)
                        await self.store.set(self._token_key, token, ttl)
                        return token
                    finally:
                        await self.store.delete(self._lock_key, only_if=holder)
                deadline = time.monotonic() + self._lock_wait
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    token = await self.store.get(self._token_key)
                    if token and token != rejected:
                        return token
        except StoreUnavailable as exc:  # no blind refreshes: each would invalidate the other replicas' token
            raise WeChatError(f"token store unavailable ({exc})") from None
        raise WeChatError("timed out waiting for another replica's token refresh")

    async def _fetch_token(self) -> tuple[str, int]:
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}
        reply = await self._request("GET", "/cgi-bin/token", params)
        code = _errcode(reply)
        if code:
            raise WeChatApiError(code, "token")
        token, expires_in = reply.get("access_token"), reply.get("expires_in", 7200)
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise WeChatError("token: reply without access_token")
        logger.info("wechat: fetched a new access token (valid %d s)", expires_in)
        return token, expires_in

    # HTTP ------------------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, params: dict[str, str], payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        content = None if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"} if content is not None else None
        try:
            reply = await self._http().request(method, path, params=params, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise WeChatError(f"{path}: network error {type(exc).__name__}") from None
        try:
            body = reply.json()
        except ValueError:
            raise WeChatError(f"{path}: HTTP {reply.status_code} without JSON") from None
        if not isinstance(body, dict):
            raise WeChatError(f"{path}: HTTP {reply.status_code}, unexpected JSON")
        return body

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        token = await self.access_token()
        for attempt in range(2):
            reply = await self._request(method, path, {"access_token": token}, payload)
            code = _errcode(reply)
            if code in TOKEN_ERRORS and attempt == 0:
                logger.info("wechat: access token refused (errcode %d), refreshing once", code)
                token = await self.access_token(rejected=token)
                continue
            if code:
                raise WeChatApiError(code, path)
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    # messages --------------------------------------------------------------------------------

    async def send_text_or_raise(self, openid: str, content: str) -> None:
        """Send a customer-service text message; a refusal raises.

        Args:
            openid: The customer.
            content: The text (split into several messages above :data:`MAX_TEXT_BYTES`).

        Raises:
            WeChatApiError: WeChat refused a piece (45015 outside the 48-hour window, quotas…).
            WeChatError: No token, network error or an unreadable reply.
        """
        for piece in split_text(content, MAX_TEXT_BYTES, utf8_bytes):
            payload = {"touser": openid, "msgtype": "text", "text": {"content": piece}}
            await self._call("POST", "/cgi-bin/message/custom/send", payload)

    async def send_text(self, openid: str, content: str) -> bool:
        """Send a customer-service text message; failures are logged, never raised.

        Args:
            openid: The customer.
            content: The text (split into several messages above :data:`MAX_TEXT_BYTES`).

        Returns:
            Whether every piece was accepted.
        """
        try:
            await self.send_text_or_raise(openid, content)
        except WeChatApiError as exc:
            if exc.errcode == WINDOW_CLOSED:
                logger.warning(
                    "wechat: customer %s last wrote more than 48 h ago (errcode 45015): message not sent",
                    sender_tag(openid),
                )
            elif exc.errcode in QUOTA_ERRORS:
                logger.warning(
                    "wechat: message quota used up (errcode %d) for customer %s: message not sent",
                    exc.errcode,
                    sender_tag(openid),
                )
            else:
                logger.error("wechat: sending to customer %s failed: %s", sender_tag(openid), exc)
            return False
        except WeChatError as exc:
            logger.error("wechat: sending to customer %s failed: %s", sender_tag(openid), exc)
            return False
        return True

    async def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str | None = None) -> None:
        """Send a template message (模板消息), which needs no open customer-service window.

        Args:
            openid: The customer (a follower of the account).
            template_id: The template chosen in the admin console (模板消息 → 我的模板).
            data: Each template field (``first``, ``keyword1``, ``remark``…) and its text.
            url: The page the message opens, if any.

        Raises:
            WeChatApiError: WeChat refused it (40037 unknown template, 43004 not a follower…).
            WeChatError: No token, network error or an unreadable reply.
        """
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {name: {"value": value} for name, value in data.items()},
        }
        if url:
            payload["url"] = url
        await self._call("POST", "/cgi-bin/message/template/send", payload)

    async def download_media(self, media_id: str) -> bytes:
        """Download a temporary media file (a customer's photo), size-capped.

        Args:
            media_id: ``MediaId`` from the message.

        Returns:
            The file's bytes.

        Raises:
            MediaTooLarge: Above the cap (checked while streaming).
            WeChatError: API error, network error or timeout.
        """
        try:
            return await asyncio.wait_for(self._download(media_id), MEDIA_DEADLINE_SECONDS)
        except asyncio.TimeoutError:
            raise WeChatError("media: download timed out") from None

    async def _download(self, media_id: str) -> bytes:
        token = await self.access_token()
        for attempt in range(2):
            data, is_json = await self._fetch_media(token, media_id)
            if not is_json:
                return data
            try:
                reply = json.loads(data)
            except ValueError:
                raise WeChatError("media: unreadable error reply") from None
            code = _errcode(reply) if isinstance(reply, dict) else -1
            if code in TOKEN_ERRORS and attempt == 0:
                token = await self.access_token(rejected=token)
                continue
            raise WeChatApiError(code, "media") if code else WeChatError("media: JSON instead of a file")
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch_media(self, token: str, media_id: str) -> tuple[bytes, bool]:
        params = {"access_token": token, "media_id": media_id}
        try:
            async with self._http().stream("GET", "/cgi-bin/media/get", params=params) as reply:
                if reply.status_code != 200:
                    raise WeChatError(f"media: HTTP {reply.status_code}")
                declared = reply.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self._max_media_bytes:
                    raise MediaTooLarge("media: larger than the cap")
                chunks: list[bytes] = []
                size = 0
                async for chunk in reply.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_media_bytes:
                        raise MediaTooLarge("media: larger than the cap")
                    chunks.append(chunk)
                content_type = reply.headers.get("content-type", "")
        except httpx.HTTPError as exc:
            raise WeChatError(f"media: network error {type(exc).__name__}") from None
        data = b"".join(chunks)
        is_json = content_type.startswith(("application/json", "text/")) or data[:1] == b"{"
        return data, is_json
