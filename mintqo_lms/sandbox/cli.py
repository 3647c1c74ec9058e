"""``mintqo-lms sandbox serve``: run the sandbox Moodle in the foreground."""

from __future__ import annotations

from pathlib import Path

import click

from .releases import DEFAULT_RELEASE, RELEASES
from .server import Sandbox


@click.group("sandbox")
def sandbox() -> None:
    """Local sandbox Moodle (throwaway tokens, in-memory or file-backed state)."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=0, show_default=True, type=int, help="Port (0 = any free port).")
@click.option("--latency", default=0.0, show_default=True, type=float, help="Seconds added to every call.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON file holding the site state and the tokens across restarts (mode 600).")
@click.option("--release", type=click.Choice(sorted(RELEASES)), default=DEFAULT_RELEASE, show_default=True,
              help="Moodle release to answer like (errors, keys and defaults differ).")
def serve(host: str, port: int, latency: float, state_file: Path | None, release: str) -> None:
    """Serve the sandbox until Ctrl+C; prints the URL and the sandbox tokens."""
    Sandbox.serve_forever(host=host, port=port, state_file=state_file, latency=latency, release=release)
