"""bot/settings.py: the one reader of the environment, its defaults, REDIS_URL and its messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot import settings as settings_module
from bot.settings import PROJECT_ROOT, VARIABLES, Settings, reset_settings, settings

REDIS = "redis://127.0.0.1:6379/0"


def test_project_root_is_the_repository() -> None:
    assert (PROJECT_ROOT / "bot" / "settings.py").is_file()
    assert (PROJECT_ROOT / "domain").is_dir()


def test_defaults_of_an_empty_environment() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert s.tracking_provider == "demo"
    assert s.tracking_db == "var/demo.db"
    assert s.tracking_fixtures == "fixtures/shipments.yml"
    assert s.tracking_timeout_seconds == 2.5
    assert s.kuaidi100_url == "https://poll.kuaidi100.com"
    assert s.outlets_file == str(PROJECT_ROOT / "fixtures" / "outlets.yml")
    assert s.policy_file == str(PROJECT_ROOT / "policy" / "policy.yml")
    assert s.tickets_db_url == s.agents_db_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'tickets.db'}"
    assert s.agent_password is None
    assert s.evidence_dir == "var/evidence"
    assert s.limits_file is None
    assert s.redis_url is s.handoff_redis_url is s.limits_redis_url is None
    assert s.telegram_redis_url is s.wechat_redis_url is None
    assert (s.handoff_redis_prefix, s.limits_redis_prefix) == ("lcs", "lcs:limits:")
    assert s.telegram_token is s.wechat_token is s.widget_secret is None
    assert s.wechat_template_id is s.wechat_template_url is None
    assert s.widget_allowed_origins == s.rest_api_keys == s.trusted_proxies == ""
    assert s.rasa_url == "http://127.0.0.1:5005"
    assert s.user == "operator"
    assert s.escalation_webhook_url is None


# Every variable, a value for it, and the field that must show it.
EACH = [
    ("TRACKING_PROVIDER", " Kuaidi100 ", "tracking_provider", "kuaidi100"),
    ("TRACKING_DB", "/tmp/x.db", "tracking_db", "/tmp/x.db"),
    ("TRACKING_FIXTURES", "f.yml", "tracking_fixtures", "f.yml"),
    ("TRACKING_TIMEOUT", "4", "tracking_timeout", "4"),
    ("KUAIDI100_CUSTOMER", " c ", "kuaidi100_customer", "c"),
    ("KUAIDI100_KEY", "k", "kuaidi100_key", "k"),
    ("KUAIDI100_URL", "http://k", "kuaidi100_url", "http://k"),
    ("KUAIDI100_PUSH_SALT", " s4lt ", "kuaidi100_push_salt", "s4lt"),
    ("OUTLETS_FILE", "o.yml", "outlets_file", "o.yml"),
    ("POLICY_FILE", "p.yml", "policy_file", "p.yml"),
    ("TICKETS_DB_URL", "sqlite:///t.db", "tickets_db_url", "sqlite:///t.db"),
    ("AGENTS_DB_URL", "sqlite:///a.db", "agents_db_url", "sqlite:///a.db"),
    ("AGENT_PASSWORD", "", "agent_password", ""),
    ("EVIDENCE_DIR", "/tmp/ev", "evidence_dir", "/tmp/ev"),
    ("LIMITS_FILE", " l.yml ", "limits_file", "l.yml"),
    ("REDIS_URL", REDIS, "redis_url", REDIS),
    ("HANDOFF_REDIS_URL", REDIS, "handoff_redis_url", REDIS),
    ("HANDOFF_REDIS_PREFIX", "h", "handoff_redis_prefix", "h"),
    ("LIMITS_REDIS_URL", REDIS, "limits_redis_url", REDIS),
    ("LIMITS_REDIS_PREFIX", "l:", "limits_redis_prefix", "l:"),
    ("TELEGRAM_TOKEN", "1:x", "telegram_token", "1:x"),
    ("TELEGRAM_SECRET_TOKEN", "s", "telegram_secret_token", "s"),
    ("TELEGRAM_WEBHOOK_URL", "https://w", "telegram_webhook_url", "https://w"),
    ("TELEGRAM_BASE_URL", "http://b", "telegram_base_url", "http://b"),
    ("TELEGRAM_REDIS_URL", REDIS, "telegram_redis_url", REDIS),
    ("TELEGRAM_REDIS_PREFIX", "t", "telegram_redis_prefix", "t"),
    ("WECHAT_TOKEN", "t", "wechat_token", "t"),
    ("WECHAT_APP_ID", "id", "wechat_app_id", "id"),
    ("WECHAT_APP_SECRET", "s", "wechat_app_secret", "s"),
    ("WECHAT_ENCODING_AES_KEY", "a", "wechat_encoding_aes_key", "a"),
    ("WECHAT_API_BASE_URL", "http://api", "wechat_api_base_url", "http://api"),
    ("WECHAT_REDIS_URL", REDIS, "wechat_redis_url", REDIS),
    ("WECHAT_REDIS_PREFIX", "w", "wechat_redis_prefix", "w"),
    ("WECHAT_TEMPLATE_ID", " tpl-1 ", "wechat_template_id", "tpl-1"),
    ("WECHAT_TEMPLATE_URL", "https://t/p", "wechat_template_url", "https://t/p"),
    ("WIDGET_SECRET", " s ", "widget_secret", "s"),
    ("WIDGET_SECRET_FILE", "/tmp/s", "widget_secret_file", "/tmp/s"),
    ("WIDGET_ALLOWED_ORIGINS", "https://a", "widget_allowed_origins", "https://a"),
    ("REST_API_KEYS", " a:b ", "rest_api_keys", "a:b"),
    ("TRUSTED_PROXIES", "127.0.0.1", "trusted_proxies", "127.0.0.1"),
    ("RASA_URL", "http://r:1", "rasa_url", "http://r:1"),
    ("USER", "ann", "user", "ann"),
    ("ESCALATION_WEBHOOK_URL", " https://hooks/x ", "escalation_webhook_url", "https://hooks/x"),
]


@pytest.mark.parametrize(("variable", "value", "attribute", "expected"), EACH, ids=[e[0] for e in EACH])
def test_each_variable_is_read(variable: str, value: str, attribute: str, expected: str) -> None:
    assert getattr(Settings.from_env({variable: value}), attribute) == expected


def test_every_field_is_covered_and_named_after_its_variable() -> None:
    assert sorted(VARIABLES) == sorted(e[0] for e in EACH)
    assert {f.name for f in dataclasses.fields(Settings)} == {e[2] for e in EACH} | {"environ"}


def test_settings_are_frozen_and_hide_secrets() -> None:
    s = Settings.from_env({"TELEGRAM_TOKEN": "123:very-secret", "REST_API_KEYS": "a:" + "k" * 24})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.user = "x"  # type: ignore[misc]
    assert "very-secret" not in repr(s) and "kkkk" not in repr(s)


def test_agents_fall_back_to_the_tickets_database() -> None:
    assert Settings.from_env({"TICKETS_DB_URL": " sqlite:///t.db "}).agents_db_url == "sqlite:///t.db"


def test_redis_url_is_the_fallback_of_every_use() -> None:
    s = Settings.from_env({"REDIS_URL": f" {REDIS} "})
    assert s.redis_url == s.handoff_redis_url == s.limits_redis_url == REDIS
    assert s.telegram_redis_url == s.wechat_redis_url == REDIS
    # each use keeps its own prefix, so the uses never share keys
    assert (s.handoff_redis_prefix, s.limits_redis_prefix) == ("lcs", "lcs:limits:")


def test_a_per_use_url_overrides_redis_url() -> None:
    env = {
        "REDIS_URL": "redis://shared/0",
        "HANDOFF_REDIS_URL": "redis://handoff/0",
        "TELEGRAM_REDIS_URL": "redis://telegram/0",
        "WECHAT_REDIS_URL": "redis://wechat/0",
    }
    s = Settings.from_env(env)
    assert s.handoff_redis_url == "redis://handoff/0"
    assert s.limits_redis_url == "redis://handoff/0"  # LIMITS_REDIS_URL falls back to HANDOFF_REDIS_URL first
    assert s.telegram_redis_url == "redis://telegram/0"
    assert s.wechat_redis_url == "redis://wechat/0"
    assert Settings.from_env({**env, "LIMITS_REDIS_URL": "redis://limits/0"}).limits_redis_url == "redis://limits/0"
    assert Settings.from_env({"HANDOFF_REDIS_URL": "  ", "REDIS_URL": REDIS}).handoff_redis_url == REDIS


def test_redis_url_reaches_the_factories() -> None:
    from bot.common.ratelimit import MemoryRateLimiter, RedisRateLimiter, limiter_from_env
    from connectors.wechat.config import WeChatSettings

    assert isinstance(limiter_from_env({}), MemoryRateLimiter)
    shared = limiter_from_env({"REDIS_URL": REDIS})
    try:
        assert isinstance(shared, RedisRateLimiter)
    finally:
        shared.close()
    wechat = {"WECHAT_TOKEN": "t", "WECHAT_APP_ID": "id", "WECHAT_APP_SECRET": "s", "REDIS_URL": REDIS}
    shipped = {"redis_url": "${WECHAT_REDIS_URL}"}
    read = WeChatSettings.read(shipped, wechat)
    assert read is not None and read.redis_url == REDIS and read.redis_prefix == "wechat"


def test_relative_paths_are_taken_from_the_project_root() -> None:
    s = Settings.from_env({})
    assert s.project_path("var/evidence") == PROJECT_ROOT / "var" / "evidence"
    assert s.project_path("/srv/evidence") == Path("/srv/evidence")


@pytest.mark.parametrize("raw", ["abc", "0", "-1"])
def test_a_bad_timeout_names_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match=r"TRACKING_TIMEOUT must be a positive number of seconds, got '"):
        _ = Settings.from_env({"TRACKING_TIMEOUT": raw}).tracking_timeout_seconds


def test_an_unknown_provider_names_the_variable() -> None:
    with pytest.raises(
        ValueError, match=r"unknown TRACKING_PROVIDER 'carrier-pigeon'; expected one of: demo, kuaidi100"
    ):
        Settings.from_env({"TRACKING_PROVIDER": "carrier-pigeon"}).check_tracking_provider()


def test_missing_kuaidi100_credentials_are_named() -> None:
    with pytest.raises(ValueError, match=r"needs KUAIDI100_CUSTOMER and KUAIDI100_KEY to be set"):
        Settings.from_env({"TRACKING_PROVIDER": "kuaidi100"}).kuaidi100_credentials()
    with pytest.raises(ValueError, match=r"needs KUAIDI100_KEY to be set"):
        Settings.from_env({"KUAIDI100_CUSTOMER": "c"}).kuaidi100_credentials()
    assert Settings.from_env({"KUAIDI100_CUSTOMER": "c", "KUAIDI100_KEY": "k"}).kuaidi100_credentials() == ("c", "k")


def test_factories_report_bad_values_by_variable_name() -> None:
    from bot.tracking import provider_from_env
    from connectors.rest.channel import load_api_keys
    from connectors.widget.tokens import load_secret

    with pytest.raises(ValueError, match="TRACKING_TIMEOUT"):
        provider_from_env(
            {
                "TRACKING_PROVIDER": "kuaidi100",
                "KUAIDI100_CUSTOMER": "c",
                "KUAIDI100_KEY": "k",
                "TRACKING_TIMEOUT": "soon",
            }
        )
    with pytest.raises(ValueError, match="WIDGET_SECRET must be at least"):
        load_secret({"WIDGET_SECRET": "short"})
    with pytest.raises(ValueError, match="REST_API_KEYS entry 1"):
        load_api_keys({"REST_API_KEYS": "no-colon"})


def test_the_process_settings_are_read_once_and_can_be_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    reset_settings()
    try:
        monkeypatch.setenv("RASA_URL", "http://first:1")
        first = settings()
        monkeypatch.setenv("RASA_URL", "http://second:2")
        assert settings() is first and first.rasa_url == "http://first:1"
        reset_settings()
        assert settings().rasa_url == "http://second:2"
        reset_settings(Settings(user="fixed"))
        assert settings().user == "fixed"
    finally:
        reset_settings()
    assert settings_module._current is None or isinstance(settings_module._current, Settings)


def test_from_env_without_a_mapping_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_DIR", "/tmp/somewhere")
    monkeypatch.setenv("SOME_OTHER_VARIABLE", "x")
    s = Settings.from_env()
    assert s.evidence_dir == "/tmp/somewhere"
    assert s.environ["SOME_OTHER_VARIABLE"] == "x"


def test_expand_references_uses_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTINGS_TEST_VALUE", "v")
    monkeypatch.delenv("SETTINGS_TEST_UNSET", raising=False)
    assert settings_module.expand_references("a-${SETTINGS_TEST_VALUE}-$SETTINGS_TEST_VALUE") == "a-v-v"
    assert settings_module.expand_references("${SETTINGS_TEST_UNSET}") == "${SETTINGS_TEST_UNSET}"
