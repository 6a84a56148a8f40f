"""Telegram's side of the webhook: the bot's token and secret, and the updates Telegram posts."""

from __future__ import annotations

import itertools
import time
from typing import Any

TOKEN = "123456789:AAE-test_Token-0123456789abcdefghij"
SECRET = "webhook-secret-" + "a1b2c3d4e5f6a7b8"

_update_ids = itertools.count(1)


def user(chat: int) -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": "顾客", "language_code": "zh-hans"}


def message_update(chat: int, chat_type: str = "private", **content: Any) -> dict[str, Any]:
    chat_obj: dict[str, Any] = {"id": chat, "type": chat_type, "first_name": "顾客"}
    if chat_type != "private":
        chat_obj = {"id": chat, "type": chat_type, "title": "group"}
    message = {"message_id": next(_update_ids), "date": int(time.time()), "chat": chat_obj, "from": user(chat)}
    return {"update_id": next(_update_ids), "message": {**message, **content}}


def photo_size(file_id: str, width: int, height: int, size: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": width, "height": height}
    if size is not None:
        item["file_size"] = size
    return item


def callback_update(chat: int, data: str) -> dict[str, Any]:
    bot_message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private", "first_name": "顾客"},
        "from": {"id": 123456789, "is_bot": True, "first_name": "Test Bot"},
        "text": "请选择",
    }
    query = {
        "id": f"cb-{next(_update_ids)}",
        "from": user(chat),
        "chat_instance": "ci-1",
        "data": data,
        "message": bot_message,
    }
    return {"update_id": next(_update_ids), "callback_query": query}
