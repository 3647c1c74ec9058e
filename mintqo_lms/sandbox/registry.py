"""Registration of web-service handlers and the per-call context they receive.

Why a decorator: each handler declares its Moodle parameter description right above its code, so
the spec and the behaviour cannot drift apart, and ``functions.REGISTRY`` is simply the collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .params import Single
from .releases import Release
from .state import Site

# The installed local_mintqo (moodle/local/mintqo/version.php); core functions report the release's version.
PLUGIN_VERSION = "2025112401"
PLUGIN_RELEASE = "1.4.1"
PLUGIN_REQUIRES = 2024042200
PLUGIN_SUPPORTED = (404, 501)


@dataclass
class Call:
    """What a handler knows about the request: the site and the calling user."""

    site: Site
    userid: int
    debug: bool = False

    @property
    def wwwroot(self) -> str:
        return self.site.wwwroot

    @property
    def release(self) -> Release:
        return self.site.release


@dataclass(frozen=True)
class Function:
    name: str
    params: Single
    handler: Callable[..., Any]
    write: bool

    @property
    def component(self) -> str:
        return "local_mintqo" if self.name.startswith("local_mintqo_") else "moodle"

    def version(self, release: Release) -> str:
        return PLUGIN_VERSION if self.component == "local_mintqo" else release.version

    def __call__(self, call: Call, params: dict[str, Any]) -> Any:
        return self.handler(call, **params)


_FUNCTIONS: dict[str, Function] = {}


def ws(name: str, params: Single, write: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``handler(call, **params)`` as web-service function ``name``.

    ``write=True`` runs it inside one transaction (all-or-nothing), like Moodle's delegated transactions.
    """

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        if name in _FUNCTIONS:
            raise ValueError(f"duplicate web-service function {name}")
        _FUNCTIONS[name] = Function(name, params, handler, write)
        return handler

    return register


def all_functions() -> dict[str, Function]:
    return _FUNCTIONS
