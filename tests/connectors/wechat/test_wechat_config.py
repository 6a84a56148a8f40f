"""WeChat is switched on by the environment alone: the shipped credentials.yml, nothing edited.

The block in ``credentials.yml`` is read exactly as Rasa reads it; the environment decides
whether the channel is off (webhook 503, one clear log line), on (verifies and serves), or
half-configured (refused at start, naming the missing variables).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from typing import Any

import pytest
from rasa.shared.utils.io import read_config_file

from connectors.wechat.channel import WeChatInput
from connectors.wechat.config import ENV_VARS, OFF_LOG_INTERVAL_SECONDS, WeChatOff, WeChatSettings
from tests.support import ROOT
from tests.support.sanic_server import BlueprintServer

SHIPPED = read_config_file(str(ROOT / "credentials.yml"))["connectors.wechat.channel.WeChatInput"]
ENV = {"WECHAT_TOKEN": "envTok3n", "WECHAT_APP_ID": "wx1234567890abcdef", "WECHAT_APP_SECRET": "s" * 32}
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)


def signed(token: str, echostr: str = "5837397520194628810") -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "n0nce"
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}


def test_shipped_block_names_every_variable_and_is_not_expanded_by_rasa() -> None:
    for key, name in ENV_VARS.items():
        assert SHIPPED[key] == f"${{{name}}}", key
    assert SHIPPED["menu"]["HUMAN"] == "转人工"


def test_without_variables_the_channel_is_off_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.wechat.channel"):
        channel = WeChatInput.from_credentials(dict(SHIPPED))
    assert isinstance(channel, WeChatOff) and channel.name() == "wechat"
    assert channel.get_output_channel() is None
    assert any("WECHAT_TOKEN" in r.getMessage() and "off" in r.getMessage() for r in caplog.records)


def test_off_channel_answers_503_with_one_log_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    with BlueprintServer(WeChatOff(clock=lambda: now[0])) as server, caplog.at_level(logging.WARNING):
        statuses = [
            server.http.get(f"{server.url}/webhook", params=signed("x")).status_code,
            server.http.post(f"{server.url}/webhook", content=b"<xml></xml>").status_code,
            server.http.post(f"{server.url}/webhook", content=b"").status_code,
        ]
        first = [r for r in caplog.records if "channel is off" in r.getMessage()]
        now[0] += OFF_LOG_INTERVAL_SECONDS
        server.http.post(f"{server.url}/webhook", content=b"<xml></xml>")
        health = server.http.get(f"{server.url}/").json()
    assert statuses == [503, 503, 503]
    assert len(first) == 1 and "WECHAT_APP_SECRET" in first[0].getMessage()
    assert len([r for r in caplog.records if "channel is off" in r.getMessage()]) == 2
    assert health == {"status": "off"} and server.received == []


def test_with_the_three_variables_it_verifies_and_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WECHAT_API_BASE_URL", "http://127.0.0.1:9/")
    channel = WeChatInput.from_credentials(dict(SHIPPED))
    assert isinstance(channel, WeChatInput) and channel.app_id == ENV["WECHAT_APP_ID"]
    assert channel._crypto is None and channel.menu["TRACK"] == "查快递"
    assert ENV["WECHAT_APP_SECRET"] not in repr(channel)
    with BlueprintServer(channel) as server:
        good = server.http.get(f"{server.url}/webhook", params=signed(ENV["WECHAT_TOKEN"]))
        forged = server.http.get(f"{server.url}/webhook", params=signed("wrong"))
    assert (good.status_code, good.text) == (200, "5837397520194628810")
    assert forged.status_code == 403


def test_settings_come_from_the_environment() -> None:
    env = {
        **ENV,
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "WECHAT_API_BASE_URL": "http://127.0.0.1:8081/",
        "WECHAT_REDIS_URL": "redis://127.0.0.1:6379/0",
        "WECHAT_REDIS_PREFIX": "acme",
    }
    settings = WeChatSettings.read(SHIPPED, env)
    assert settings is not None
    assert (settings.token, settings.app_id, settings.app_secret) == (
        ENV["WECHAT_TOKEN"],
        ENV["WECHAT_APP_ID"],
        ENV["WECHAT_APP_SECRET"],
    )
    assert settings.encoding_aes_key == AES_KEY and settings.api_base_url == "http://127.0.0.1:8081"
    assert settings.redis_url == "redis://127.0.0.1:6379/0" and settings.redis_prefix == "acme"
    for secret in (ENV["WECHAT_APP_SECRET"], ENV["WECHAT_TOKEN"], AES_KEY):
        assert secret not in repr(settings)
    # an empty block (the key listed with nothing under it) reads the same variables
    assert WeChatSettings.read(None, env) == WeChatSettings.read({}, env) != WeChatSettings.read(None, ENV)
    assert WeChatSettings.read(None, {}) is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param({"WECHAT_TOKEN": "t0k"}, "WECHAT_APP_ID.*WECHAT_APP_SECRET", id="token-only"),
        pytest.param({**ENV, "WECHAT_APP_SECRET": ""}, "WECHAT_APP_SECRET", id="empty-secret"),
        pytest.param({**ENV, "WECHAT_API_BASE_URL": "ftp://x"}, "WECHAT_API_BASE_URL", id="bad-url"),
        pytest.param({**ENV, "WECHAT_REDIS_PREFIX": "a b"}, "redis_prefix", id="bad-prefix"),
    ],
)
def test_half_configured_channel_is_refused_with_the_missing_names(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WeChatSettings.read(SHIPPED, env)


def test_bad_aes_key_or_menu_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY", "short")
    with pytest.raises(ValueError, match="encoding_aes_key"):
        WeChatInput.from_credentials(dict(SHIPPED))
    monkeypatch.delenv("WECHAT_ENCODING_AES_KEY")
    bad_menu: dict[str, Any] = {**SHIPPED, "menu": {"TRACK": ""}}
    with pytest.raises(ValueError, match="menu"):
        WeChatInput.from_credentials(bad_menu)
