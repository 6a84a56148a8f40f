"""The replies the channels compose: from the ``channels`` catalogue, byte for byte what they always were."""

from __future__ import annotations

import pytest

from connectors.common import replies
from connectors.telegram import buttons as telegram_buttons
from connectors.telegram import support as telegram_support
from connectors.wechat import channel as wechat_channel

BEFORE = {
    "EMPTY_REPLY": (
        replies,
        "您好像发了一条空消息，请告诉我运单号或您遇到的问题。\n"
        "Your message seems empty: please send a tracking number or tell me what happened.",
    ),
    "FAILURE_REPLY": (
        replies,
        "抱歉，系统刚才出了点问题，请稍后再发一次，或回复“转人工”。\n"
        'Sorry, something went wrong on our side. Please send that again in a moment, or say "human agent".',
    ),
    "TOO_FAST_REPLY": (
        replies,
        "您发消息太快了，请等 {seconds} 秒后再发。\nYou are sending messages too fast, please wait {seconds} seconds.",
    ),
    "TOO_MANY_PHOTOS_REPLY": (
        replies,
        "您发的照片太多了，请等 {seconds} 秒后再发照片。\n"
        "You are sending too many photos, please wait {seconds} seconds before sending more.",
    ),
    "UNSUPPORTED_REPLY": (
        telegram_support,
        "抱歉，这里只能接收文字和照片。请用文字描述您的问题，或直接发送照片。\n"
        "Sorry, I can only read text and photos here. Please type your question or send a photo.",
    ),
    "BUTTON_EXPIRED": (
        telegram_buttons,
        "这个按钮已失效，请直接输入您的回答。 / This button has expired: please type your answer.",
    ),
    "BUTTONS_PROMPT": (telegram_buttons, "请选择： / Please choose:"),
    "VOICE_REPLY": (
        wechat_channel,
        "抱歉，我暂时听不了语音，请用文字告诉我您的运单号或问题。\n"
        "Sorry, I cannot listen to voice messages yet. Please type your tracking number or question.",
    ),
    "UNSUPPORTED_REPLY ": (
        wechat_channel,
        "抱歉，我目前只能处理文字和照片消息，请用文字描述您的问题或发送运单号。\n"
        "Sorry, I can only read text and photos for now. Please type your question or tracking number.",
    ),
    "MENU_REPLY": (
        wechat_channel,
        "请直接输入您的问题或运单号，我马上为您查询。\n"
        "Please type your question or tracking number and I will look it up.",
    ),
}
"""Each reply as the code spelt it before it moved to ``bot/texts/*/channels.yml``."""


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_every_reply_is_byte_identical_to_what_it_was(name: str) -> None:
    module, text = BEFORE[name]
    assert getattr(module, name.strip()) == text


def test_the_rate_notices_keep_their_seconds_field() -> None:
    assert replies.TOO_FAST_REPLY.format(seconds=7).count("7") == 2
    assert replies.TOO_MANY_PHOTOS_REPLY.format(seconds=7).count("7") == 2


def test_bilingual_puts_chinese_first() -> None:
    assert replies.bilingual(("中文", "English")) == "中文\nEnglish"
    assert replies.bilingual(("中文", "English"), " / ") == "中文 / English"
