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
 * Installed language packs, so the caller can check lang=de before creating users.
 *
 * Core rejects an unknown lang with a bare "Invalid parameter value detected"; asking first lets the sync
 * service fall back to the site language and say why.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_site_languages extends external_api {
    /**
     * No parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([]);
    }

    /**
     * List the installed language packs.
     *
     * @return array
     */
    public static function execute(): array {
        global $CFG;
        self::validate_parameters(self::execute_parameters(), []);
        self::validate_context(context_system::instance());

        $languages = [];
        foreach (get_string_manager()->get_list_of_translations(true) as $code => $name) {
            $languages[] = ['code' => (string)$code, 'name' => (string)$name];
        }
        return ['defaultlang' => (string)$CFG->lang, 'languages' => $languages];
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'defaultlang' => new external_value(PARAM_LANG, 'Site default language code'),
            'languages' => new external_multiple_structure(new external_single_structure([
                'code' => new external_value(PARAM_LANG, 'Language code, e.g. de'),
                'name' => new external_value(PARAM_TEXT, 'Language name'),
            ])),
        ]);
    }
}
