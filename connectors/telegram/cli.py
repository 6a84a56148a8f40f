"""Telegram command line: register or delete the webhook, or poll for local development.

Usage::

    python -m connectors.telegram set-webhook [--url URL]
    python -m connectors.telegram delete-webhook
    python -m connectors.telegram poll [--rasa-url http://127.0.0.1:5005]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Sequence

import httpx
from telegram.error import RetryAfter, TelegramError

from bot.settings import settings
from connectors.common.log_redaction import REDACTOR, protect_secrets
from connectors.telegram.config import ALLOWED_UPDATES, ENV_VARS, SECRET_HEADER, WEBHOOK_PATH, TelegramConfig
from connectors.telegram.support import retry_seconds

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- command line


async def set_webhook(config: TelegramConfig, url: str | None = None) -> int:
    """Register the webhook: ``setWebhook`` with the secret and the update types we handle.

    Args:
        config: Channel settings.
        url: Public URL of ``/webhooks/telegram/webhook`` (default: ``config.webhook_url``).

    Returns:
        A process exit code.
    """
    url = url or config.webhook_url
    if not url:
        print(f"no webhook URL: pass --url or set {ENV_VARS['webhook_url']}", file=sys.stderr)
        return 2
    async with config.build_bot() as bot:
        await bot.set_webhook(
            url=url,
            secret_token=config.secret_token,
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
        )
    print(f"webhook set to {url} (updates: {', '.join(ALLOWED_UPDATES)})")
    return 0


async def delete_webhook(config: TelegramConfig) -> int:
    """Remove the webhook (pending updates are kept). Returns a process exit code."""
    async with config.build_bot() as bot:
        await bot.delete_webhook(drop_pending_updates=False)
    print("webhook deleted")
    return 0


async def poll(config: TelegramConfig, rasa_url: str, *, max_batches: int | None = None) -> int:
    """Development mode: long-poll ``getUpdates`` and post each update to Rasa's webhook.

    The webhook is deleted first (Telegram serves one or the other). An update is only
    confirmed (the offset moves past it) once the Rasa server has accepted it.

    Args:
        config: Channel settings (the secret is sent in the webhook header).
        rasa_url: The Rasa server, e.g. ``http://127.0.0.1:5005``.
        max_batches: Stop after this many ``getUpdates`` calls (tests); ``None`` runs until killed.

    Returns:
        A process exit code.
    """
    target = rasa_url.rstrip("/") + WEBHOOK_PATH
    headers = {SECRET_HEADER: config.secret_token, "Content-Type": "application/json"}
    offset: int | None = None
    batches = 0
    async with config.build_bot() as bot, httpx.AsyncClient(timeout=30) as client:
        await bot.delete_webhook(drop_pending_updates=False)
        logger.info("telegram: polling, forwarding to %s", target)
        while max_batches is None or batches < max_batches:
            batches += 1
            try:
                updates = await bot.get_updates(offset=offset, timeout=25, allowed_updates=list(ALLOWED_UPDATES))
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except TelegramError as exc:
                logger.warning("telegram: getUpdates failed: %s", type(exc).__name__)
                await asyncio.sleep(2)
                continue
            for update in updates:
                while True:
                    try:
                        reply = await client.post(target, content=update.to_json(), headers=headers)
                    except httpx.HTTPError as exc:
                        logger.warning("telegram: Rasa not reachable (%s), retrying", type(exc).__name__)
                        await asyncio.sleep(2)
                        continue
                    if reply.status_code == 403:
                        print(f"Rasa refused the secret: is {ENV_VARS['secret_token']} the same?", file=sys.stderr)
                        return 1
                    if reply.status_code < 500:
                        break
                    logger.warning("telegram: Rasa answered %s, retrying", reply.status_code)
                    await asyncio.sleep(2)
                offset = update.update_id + 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m connectors.telegram set-webhook | delete-webhook | poll``."""
    parser = argparse.ArgumentParser(prog="python -m connectors.telegram", description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    hook = commands.add_parser("set-webhook", help="register the webhook with its secret token")
    hook.add_argument("--url", help=f"public webhook URL (default: {ENV_VARS['webhook_url']})")
    commands.add_parser("delete-webhook", help="remove the webhook")
    polling = commands.add_parser("poll", help="development: long-poll and forward updates to a local Rasa")
    polling.add_argument("--rasa-url", default=settings().rasa_url)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = TelegramConfig.from_mapping(None)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    protect_secrets(*config.secrets())
    try:
        if args.command == "set-webhook":
            return asyncio.run(set_webhook(config, args.url))
        if args.command == "delete-webhook":
            return asyncio.run(delete_webhook(config))
        return asyncio.run(poll(config, args.rasa_url))
    except TelegramError as exc:
        print(f"Telegram refused: {type(exc).__name__}: {REDACTOR.redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
