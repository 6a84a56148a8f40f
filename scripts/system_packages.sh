#!/usr/bin/env bash
# Install the Debian packages a make target needs, when they are missing.
#   scripts/system_packages.sh test    what `make test` needs (headless Chromium, CJK fonts)
#
# As root (or with password-less sudo) it runs `apt-get update` once and installs the missing
# packages non-interactively; otherwise it stops with one line naming the command to run.
# The list lives here and nowhere else: add a package here when a target starts needing one.
set -euo pipefail

# SYSTEM_PACKAGES (space-separated) replaces the list; the tests use it to name a missing package.
case "${1:-test}" in
  # chromium: the browser tests (Playwright drives /usr/bin/chromium, never a downloaded browser);
  # fonts-noto-cjk: Chinese text in the screenshots those tests save.
  test) packages=(chromium fonts-noto-cjk) ;;
  *) echo "usage: $0 test" >&2; exit 2 ;;
esac
if [ -n "${SYSTEM_PACKAGES:-}" ]; then read -r -a packages <<<"$SYSTEM_PACKAGES"; fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

command_line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: make needs the Debian packages ${missing[*]}, and apt-get is not here: install their equivalents with your package manager." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "error: make needs the Debian packages ${missing[*]}; install them as root:  $command_line" >&2
  exit 1
fi

echo "Installing Debian packages once: ${missing[*]} (apt-get, about a minute)"
log=$(mktemp)
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "error: installing ${missing[*]} failed (full log: $log); run it by hand:  $command_line" >&2
  exit 1
fi
rm -f "$log"
echo "Installed: ${missing[*]}"
