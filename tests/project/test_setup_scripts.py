"""The set-up steps of `make test`: Debian packages and the Redis/PostgreSQL check, run for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support import ROOT

SCRIPT = ROOT / "scripts" / "system_packages.sh"


def run_packages(*prefix: str, packages: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEM_PACKAGES": packages}
    return subprocess.run([*prefix, "bash", str(SCRIPT), "test"], capture_output=True, text=True, env=env,
                          timeout=60, cwd="/", check=False)  # fmt: skip


def test_installed_packages_need_nothing() -> None:
    done = run_packages(packages="bash coreutils")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root to become nobody")
def test_without_root_a_missing_package_stops_with_the_command() -> None:
    done = run_packages("runuser", "-u", "nobody", "--", packages="bash lcs-no-such-package")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "apt-get install -y --no-install-recommends lcs-no-such-package" in lines[0]
    assert "bash" not in lines[0].split("install")[-1]  # only the missing one is named


def test_the_list_is_the_one_make_test_uses() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    assert "test) packages=(chromium fonts-noto-cjk)" in text
    assert "system_packages.sh test" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_services_are_up_or_started() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "services.py")], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        ('FATAL:  password authentication failed for user "postgres"', True),
        ("fe_sendauth: no password supplied", True),
        ('FATAL:  no pg_hba.conf entry for host "127.0.0.1", user "postgres"', True),
        ('connection to server at "127.0.0.1", port 5432 failed: Connection refused', False),
        ("timeout expired", False),
    ],
)
def test_refused_login_is_told_apart_from_a_stopped_server(error: str, refused: bool) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import services
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert services.refused_login(error) is refused
