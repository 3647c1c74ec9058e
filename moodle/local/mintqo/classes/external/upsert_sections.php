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

use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use local_mintqo\local\helper;
use local_mintqo\local\section_writer;

/**
 * Create missing course sections and set name, summary and visibility.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class upsert_sections extends external_api {
    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'Course id'),
            'sections' => new external_multiple_structure(section_writer::structure()),
        ]);
    }

    /**
     * Upsert the sections in one transaction.
     *
     * @param int $courseid
     * @param array $sections
     * @return array
     */
    public static function execute(int $courseid, array $sections): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseid' => $courseid, 'sections' => $sections]);
        $course = helper::get_course($params['courseid']);
        helper::require_course_access($course, ['local/mintqo:provision', 'moodle/course:update']);

        $seen = [];
        foreach ($params['sections'] as $section) {
            section_writer::validate($section, $seen);
        }
        if (!$seen) {
            return ['sections' => []];
        }
        $results = helper::in_transaction(fn() => section_writer::apply($course, $params['sections']), [$course->id]);
        return ['sections' => $results];
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'sections' => new external_multiple_structure(section_writer::result_structure()),
        ]);
    }
}
