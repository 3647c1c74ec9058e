"""Everything that talks to a Moodle site: the REST client, typed core and plugin calls, errors."""

from mintqo_lms.moodle.api import CORE_FUNCTIONS, CoreAPI
from mintqo_lms.moodle.client import MoodleClient
from mintqo_lms.moodle.errors import MoodleError
from mintqo_lms.moodle.plugin import PLUGIN_FUNCTIONS, PluginAPI
from mintqo_lms.moodle.shape import ShapeChecked


class Moodle:
    """A site: one client, the core and the plugin functions on top of it."""

    def __init__(self, client: MoodleClient):
        self.client = client
        # an answer of the wrong shape is one error naming the function (mintqo_lms.moodle.shape)
        self.core: CoreAPI = ShapeChecked(CoreAPI(client))  # type: ignore[assignment]
        self.plugin: PluginAPI = ShapeChecked(PluginAPI(client))  # type: ignore[assignment]

    @property
    def required_functions(self) -> tuple[str, ...]:
        return CORE_FUNCTIONS + PLUGIN_FUNCTIONS


__all__ = ["CORE_FUNCTIONS", "PLUGIN_FUNCTIONS", "CoreAPI", "Moodle", "MoodleClient", "MoodleError", "PluginAPI"]
