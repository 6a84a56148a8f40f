"""The agent console of a running server: agents created with the CLI, a logged-in session."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from tests.support import ROOT
from tests.support.e2e_servers import Servers

PASSWORD = "correct horse battery"
CONSOLE = "/webhooks/console"


def create_agent(servers: Servers, username: str, display: str, *extra: str) -> None:
    env = {**os.environ, "AGENTS_DB_URL": f"sqlite:///{servers.workdir / 'tickets.db'}", "AGENT_PASSWORD": PASSWORD,
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    command = [sys.executable, "-m", "bot.agents.cli", "create", username, "--name", display, *extra]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def login(servers: Servers, username: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=servers.base, timeout=30, follow_redirects=False)
    page = client.get(f"{CONSOLE}/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = client.post(f"{CONSOLE}/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
    assert done.status_code == 302 and done.headers["location"].endswith("/queue"), done.text
    queue_page = client.get(f"{CONSOLE}/queue")
    token = re.search(r'name="csrf" content="([^"]+)"', queue_page.text).group(1)
    return client, token
