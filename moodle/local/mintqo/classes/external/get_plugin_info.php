<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

namespace local_mintqo\external;

use context_system;
use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;

/**
 * The installed plugin's version and whether the site's Moodle release is one it supports.
 *
 * The values come from Moodle's plugin manager (version.php on disk, the version in the database) and
 * $CFG, so the caller's `doctor` can say what runs without reading Moodle's admin pages.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_plugin_info extends external_api {
    /**
     * No parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([]);
    }

    /**
     * Describe the plugin and the Moodle release.
     *
     * @return array
     */
    public static function execute(): array {
        global $CFG;
        self::validate_parameters(self::execute_parameters(), []);
        self::validate_context(context_system::instance());

        $info = \core_plugin_manager::instance()->get_plugin_info('local_mintqo');
        $supported = array_map('intval', array_values((array)($info->pluginsupported ?? [0, 0])));
        $branch = (int)($CFG->branch ?? 0);
        return [
            'component' => 'local_mintqo',
            'version' => (int)($info->versiondb ?? $info->versiondisk),
            'release' => (string)($info->release ?? ''),
            'requires' => (int)$info->versionrequires,
            'supported' => $supported,
            'moodle_release' => (string)$CFG->release,
            'moodle_version' => (string)$CFG->version,
            'moodle_branch' => $branch,
            'moodle_supported' => $supported[0] <= $branch && $branch <= $supported[1],
        ];
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'component' => new external_value(PARAM_COMPONENT, 'Frankenstyle name: local_mintqo'),
            'version' => new external_value(PARAM_INT, 'Installed plugin version (YYYYMMDDXX)'),
            'release' => new external_value(PARAM_TEXT, 'Plugin release name, e.g. 1.1.0'),
            'requires' => new external_value(PARAM_INT, 'Lowest Moodle version the plugin requires'),
            'supported' => new external_multiple_structure(
                new external_value(PARAM_INT, 'Moodle branch, e.g. 404'),
                'Supported Moodle branches [from, to], both inclusive'
            ),
            'moodle_release' => new external_value(PARAM_TEXT, 'Moodle release, e.g. 5.0.6+ (Build: 20260403)'),
            'moodle_version' => new external_value(PARAM_RAW, 'Moodle version number, e.g. 2025041406.11'),
            'moodle_branch' => new external_value(PARAM_INT, 'Moodle branch, e.g. 500'),
            'moodle_supported' => new external_value(PARAM_BOOL, 'Whether moodle_branch is within supported'),
        ]);
    }
}
