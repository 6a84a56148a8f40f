"""Every class path the configuration names resolves the way Rasa resolves it.

``credentials.yml`` names each channel as ``connectors.<channel>.channel.<Class>`` and the
endpoint files name custom stores and brokers by ``type``; deployments written before the
channels became packages still say ``connectors.<channel>.<Class>``, which each package
serves lazily. Rasa loads all of them with ``class_from_module_path``.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rasa.core.channels.channel import InputChannel
from rasa.shared.utils.common import class_from_module_path

from tests.support import ROOT

ENDPOINT_FILES = ("endpoints.yml", "endpoints.production.yml")
OLD_PATHS = {
    "connectors.rest.CustomerRestInput": "connectors.rest.channel.CustomerRestInput",
    "connectors.console.AgentConsoleInput": "connectors.console.channel.AgentConsoleInput",
    "connectors.widget.WebWidgetInput": "connectors.widget.channel.WebWidgetInput",
    "connectors.telegram.TelegramInput": "connectors.telegram.channel.TelegramInput",
    "connectors.wechat.WeChatInput": "connectors.wechat.channel.WeChatInput",
}
"""The short paths of the channels (before they were packages) and the class each must be."""


def _credentials() -> list[str]:
    data = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8")) or {}
    return sorted(name for name in data if "." in name)


def _endpoint_types() -> list[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if isinstance(kind, str) and "." in kind:
                found.add(kind)
            for value in node.values():
                walk(value)

    for name in ENDPOINT_FILES:
        path = ROOT / name
        if path.exists():
            walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return sorted(found)


NEW_CHANNELS = {"connectors.proactive.channel.ProactiveInput"}
"""Channels added after the packages were made: they have no short path."""


def test_the_configuration_names_every_channel_under_its_channel_module() -> None:
    assert set(_credentials()) == set(OLD_PATHS.values()) | NEW_CHANNELS


@pytest.mark.parametrize("path", _credentials())
def test_every_channel_in_credentials_resolves_to_an_input_channel(path: str) -> None:
    cls = class_from_module_path(path)
    assert isinstance(cls, type) and issubclass(cls, InputChannel)
    assert f"{cls.__module__}.{cls.__qualname__}" == path


@pytest.mark.parametrize("path", _endpoint_types())
def test_every_custom_type_in_the_endpoint_files_resolves(path: str) -> None:
    cls = class_from_module_path(path)
    assert isinstance(cls, type)
    assert f"{cls.__module__}.{cls.__qualname__}" == path


@pytest.mark.parametrize(("old", "new"), sorted(OLD_PATHS.items()))
def test_the_old_short_paths_still_resolve_to_the_same_class(old: str, new: str) -> None:
    assert class_from_module_path(old) is class_from_module_path(new)
