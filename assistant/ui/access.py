"""Who may reach the page: loopback by default, a password for anything wider. No gradio here."""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from pydantic import SecretStr

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """True when `host` only accepts connections from this machine."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolve_auth(host: str, ui_auth: SecretStr | None, no_auth: bool = False) -> tuple[str, str] | None:
    """The (user, password) for launch(auth=...); refuses a non-loopback host without one unless `no_auth`."""
    if ui_auth is not None:
        user, sep, password = ui_auth.get_secret_value().partition(":")
        if not sep or not user or not password:
            raise ConfigError("ASSISTANT_UI_AUTH must look like user:password (both parts non-empty)")
        return user, password
    if is_loopback(host):
        return None
    if no_auth:
        print(
            f"WARNING: serving on {host} WITHOUT a password: anyone who can reach this machine can use the "
            "page and add abstracts. Set ASSISTANT_UI_AUTH=user:password to require a login.",
            file=sys.stderr,
        )
        return None
    raise ConfigError(
        f"refusing to serve on {host} without a password: set ASSISTANT_UI_AUTH=user:password, "
        "bind to 127.0.0.1, or pass --no-auth to accept the risk"
    )


def browser_secret(store_dir: Path) -> str | None:
    """The key the page encrypts a reader's saved conversation with (in their browser's storage), kept in the
    store folder so a conversation survives a restart of `assistant serve`: a key made per process lost every
    one. None when the folder cannot hold it (then each process makes its own, as before)."""
    from ..store import PAGE_SECRET

    path = Path(store_dir) / PAGE_SECRET
    try:
        if path.exists() and (key := path.read_text().strip()):
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # the owner's only; the first writer wins
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        return path.read_text().strip() or None
    except FileExistsError:  # another process is making it: its key, once written (a moment)
        for _ in range(50):
            if key := path.read_text().strip():
                return key
            time.sleep(0.02)
        return None
    except OSError:
        return None
