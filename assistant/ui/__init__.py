"""The Gradio page (`assistant serve`), over the Assistant API only; the only package that imports gradio.

render (safe HTML, pure) and access (bind/auth checks, pure) <- handlers (events) <- app (layout, launch).
"""

import os

# Before gradio is imported: no telemetry and no version check, i.e. no request leaves the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from .access import is_loopback, resolve_auth  # noqa: E402
from .app import build_app, launch  # noqa: E402
from .local_api import add_cli_routes  # noqa: E402

__all__ = ["add_cli_routes", "build_app", "is_loopback", "launch", "resolve_auth"]
