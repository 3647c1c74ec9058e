"""Every web-service function the sandbox implements: ``REGISTRY[name]`` -> handler.

Importing the handler modules registers them; a static test compares this with the plugin's
db/services.php so the sandbox and the real plugin cannot drift apart silently.
"""

from __future__ import annotations

from . import core_course, core_misc, core_role, core_user, plugin  # noqa: F401 - imported for registration
from . import plugin_sync  # noqa: F401 - imported for registration
from . import plugin_state  # noqa: F401 - imported for registration
from . import plugin_certificates  # noqa: F401 - imported for registration
from . import plugin_content  # noqa: F401 - imported for registration
from .registry import Function, all_functions

REGISTRY: dict[str, Function] = all_functions()

__all__ = ["REGISTRY", "Function"]
