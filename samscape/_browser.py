"""The headless Chromium that samscape's own tooling drives: the browser tests, the explorer benchmark and the
screenshot script. Nothing in the package needs a browser; this only keeps one answer to "which one, how".
Imports nothing from samscape."""

from __future__ import annotations

import shutil

# Headless and without a sandbox (CI runs as root), and without the background traffic a fresh profile starts
# (updates, sync): the explorer's tests check that no request leaves the machine.
HEADLESS_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")
INSTALL_HINT = "install Debian's package with `apt-get install chromium` (.ci/run does it)"


def chromium_path() -> str | None:
    """Debian's ``chromium`` (or ``chromium-browser``) on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")
