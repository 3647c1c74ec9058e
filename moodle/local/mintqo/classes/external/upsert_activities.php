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
use local_mintqo\local\activity_manager;
use local_mintqo\local\activity_writer;
use local_mintqo\local\helper;

/**
 * Create or update page, url, label and assign activities by idnumber; optionally set completion criteria.
 *
 * Activities with selfcompletion = 0 can only be marked complete by users with moodle/course:overridecompletion
 * (see activity_manager::set_selfcompletion() and the README).
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class upsert_activities extends external_api {
    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'Course id'),
            'activities' => new external_multiple_structure(
                new external_single_structure(activity_writer::fields('page, url, label or assign'))
            ),
            'completioncriteria' => activity_writer::criteria_structure(),
        ]);
    }

    /**
     * Upsert the activities and criteria in one transaction.
     *
     * @param int $courseid
     * @param array $activities
     * @param array $completioncriteria
     * @return array
     */
    public static function execute(int $courseid, array $activities, array $completioncriteria = []): array {
        global $CFG;
        require_once($CFG->dirroot . '/course/lib.php');

        $params = self::validate_parameters(self::execute_parameters(), [
            'courseid' => $courseid,
            'activities' => $activities,
            'completioncriteria' => $completioncriteria,
        ]);
        $course = helper::get_course($params['courseid']);
        helper::require_course_access($course, ['local/mintqo:provision', 'moodle/course:manageactivities']);

        $seen = [];
        $maxsection = 0;
        foreach ($params['activities'] as $activity) {
            activity_writer::validate($activity, activity_manager::SUPPORTED_MODULES, $seen);
            $maxsection = max($maxsection, (int)$activity['section']);
        }

        return helper::in_transaction(function () use ($course, $params, $maxsection) {
            course_create_sections_if_missing($course, range(0, $maxsection));
            $manager = new activity_manager($course);
            $results = [];
            foreach ($params['activities'] as $activity) {
                $results[] = activity_writer::upsert($manager, $course, $activity);
            }
            $criteria = activity_writer::set_criteria($course, $params['completioncriteria']);
            return ['activities' => $results, 'completioncriteria' => $criteria];
        }, [$course->id]);
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'activities' => new external_multiple_structure(activity_writer::result_structure()),
            'completioncriteria' => activity_writer::criteria_result_structure(),
        ]);
    }
}
