"""Everything that talks to a Moodle site: the REST client, typed core and plugin calls, errors."""

from mintqo_lms.moodle.api import CORE_FUNCTIONS, CoreAPI
from mintqo_lms.moodle.client import MoodleClient
from mintqo_lms.moodle.errors import MoodleError
from mintqo_lms.moodle.plugin import PLUGIN_FUNCTIONS, PluginAPI


class Moodle:
    """A site: one client, the core and the plugin functions on top of it."""

    def __init__(self, client: MoodleClient):
        self.client = client
        self.core = CoreAPI(client)
        self.plugin = PluginAPI(client)

    @property
    def required_functions(self) -> tuple[str, ...]:
        return CORE_FUNCTIONS + PLUGIN_FUNCTIONS


__all__ = ["CORE_FUNCTIONS", "PLUGIN_FUNCTIONS", "CoreAPI", "Moodle", "MoodleClient", "MoodleError", "PluginAPI"]
