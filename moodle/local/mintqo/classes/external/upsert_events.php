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
use local_mintqo\local\event_writer;
use local_mintqo\local\helper;

/**
 * Course calendar events (workshops, peer rounds) by our idnumber, kept in the event's uuid field.
 *
 * Course events appear in the course's calendar and in every participant's upcoming events and timeline.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class upsert_events extends external_api {
    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'Course id'),
            'events' => new external_multiple_structure(event_writer::structure()),
        ]);
    }

    /**
     * Create or update the events in one transaction.
     *
     * @param int $courseid
     * @param array $events
     * @return array
     */
    public static function execute(int $courseid, array $events): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseid' => $courseid, 'events' => $events]);
        $course = helper::get_course($params['courseid']);
        event_writer::require_not_site($course);
        helper::require_course_access($course, ['local/mintqo:provision', 'moodle/calendar:manageentries']);

        $seen = [];
        foreach ($params['events'] as $event) {
            event_writer::validate($event, $seen);
        }
        return helper::in_transaction(function () use ($course, $params) {
            return ['events' => array_map(fn($event) => event_writer::upsert($course, $event), $params['events'])];
        });
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'events' => new external_multiple_structure(event_writer::result_structure()),
        ]);
    }
}
