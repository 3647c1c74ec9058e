"""A small, stateful, faithful local stand-in for a Moodle 4.4 site with the local_mintqo plugin.

Used by tests, benchmarks and ``mintqo-lms demo``; see ``Sandbox``.
"""

from .protocol import MoodleError
from .server import Faults, Sandbox

__all__ = ["Sandbox", "Faults", "MoodleError"]
