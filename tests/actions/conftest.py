"""Every action test runs against the demo services (a module may override ``demo_services``)."""

from __future__ import annotations

import pytest

from tests.support.actions import NOW, demo_action_services


@pytest.fixture(autouse=True)
def demo_services(tmp_path):
    with demo_action_services(tmp_path, NOW) as provider:
        yield provider
