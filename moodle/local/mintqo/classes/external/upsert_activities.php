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
use local_mintqo\local\completion_criteria_manager;
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
            'activities' => new external_multiple_structure(new external_single_structure([
                'section' => new external_value(PARAM_INT, 'Section number, 0 or more'),
                'modname' => new external_value(PARAM_ALPHANUMEXT, 'page, url, label or assign'),
                'idnumber' => new external_value(PARAM_RAW, 'Course module idnumber, unique in the course'),
                'name' => new external_value(PARAM_TEXT, 'Activity name'),
                'intro' => new external_value(PARAM_RAW, 'Description (HTML)', VALUE_DEFAULT, ''),
                'content' => new external_value(PARAM_RAW, 'Page body (HTML)', VALUE_DEFAULT, ''),
                'externalurl' => new external_value(PARAM_URL, 'Link target of a url activity', VALUE_DEFAULT, ''),
                'visible' => new external_value(PARAM_INT, '1 visible, 0 hidden', VALUE_DEFAULT, 1),
                'completion' => new external_value(PARAM_INT, '0 none, 1 manual, 2 automatic', VALUE_DEFAULT, 0),
                'completionview' => new external_value(PARAM_INT, 'Automatic completion on view', VALUE_DEFAULT, 0),
                'completionsubmit' => new external_value(
                    PARAM_INT,
                    'Automatic completion on submission (assign)',
                    VALUE_DEFAULT,
                    0
                ),
                'duedate' => new external_value(PARAM_INT, 'Due date, unix time (assign)', VALUE_DEFAULT, 0),
                'completionexpected' => new external_value(
                    PARAM_INT,
                    'Expected completion date, unix time (0 = none); shown in the calendar and timeline',
                    VALUE_DEFAULT,
                    0
                ),
                'allowsubmissionsfromdate' => new external_value(
                    PARAM_INT,
                    'Submissions open from, unix time (assign, 0 = always)',
                    VALUE_DEFAULT,
                    0
                ),
                'teamsubmission' => new external_value(
                    PARAM_INT,
                    '1 = group submission (assign): one member submits for the whole group',
                    VALUE_DEFAULT,
                    0
                ),
                'selfcompletion' => new external_value(
                    PARAM_INT,
                    '0 = participants cannot mark manual completion themselves; only users with '
                        . 'moodle/course:overridecompletion set it',
                    VALUE_DEFAULT,
                    1
                ),
            ])),
            'completioncriteria' => new external_multiple_structure(new external_single_structure([
                'idnumber' => new external_value(PARAM_RAW, 'idnumber of an activity of the course'),
            ]), 'Course completion = all these activities; empty leaves the criteria alone', VALUE_DEFAULT, []),
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
            if (!in_array($activity['modname'], activity_manager::SUPPORTED_MODULES, true)) {
                throw helper::error('unsupportedmodule', $activity['modname']);
            }
            if ((int)$activity['section'] < 0) {
                throw helper::error('invalidsection', $activity['section']);
            }
            foreach (['completion' => [0, 1, 2], 'teamsubmission' => [0, 1], 'selfcompletion' => [0, 1]] as $field => $allowed) {
                if (!in_array((int)$activity[$field], $allowed, true)) {
                    throw new \invalid_parameter_exception('activities: ' . $field . ' must be one of ' . implode(', ', $allowed));
                }
            }
            foreach (['duedate', 'completionexpected', 'allowsubmissionsfromdate'] as $field) {
                if ((int)$activity[$field] < 0) {
                    throw new \invalid_parameter_exception('activities: ' . $field . ' must not be negative');
                }
            }
            $idnumber = trim((string)$activity['idnumber']);
            if ($idnumber === '') {
                throw new \invalid_parameter_exception('activities: idnumber is required');
            }
            if (isset($seen[$idnumber])) {
                throw new \invalid_parameter_exception('activities: idnumber ' . $idnumber . ' appears twice');
            }
            $seen[$idnumber] = true;
            $maxsection = max($maxsection, (int)$activity['section']);
        }

        return helper::in_transaction(function () use ($course, $params, $maxsection) {
            course_create_sections_if_missing($course, range(0, $maxsection));
            $manager = new activity_manager($course);

            $results = [];
            foreach ($params['activities'] as $activity) {
                $idnumber = trim((string)$activity['idnumber']);
                $desired = $manager->desired($activity);
                $cm = helper::find_cm_by_idnumber($course->id, $idnumber);
                if ($cm && $cm->modname !== $activity['modname']) {
                    throw helper::error(
                        'activitytypemismatch',
                        ['idnumber' => $idnumber, 'existing' => $cm->modname, 'requested' => $activity['modname']]
                    );
                }
                if (!$cm) {
                    $moduleinfo = $manager->create($activity['modname'], $idnumber, $desired);
                    $cmid = (int)$moduleinfo->coursemodule;
                    $instanceid = (int)$moduleinfo->instance;
                    $status = helper::STATUS_CREATED;
                } else {
                    $current = $manager->current($cm);
                    $cmid = (int)$cm->id;
                    $instanceid = (int)$cm->instance;
                    if ($current === $desired) {
                        $status = helper::STATUS_UNCHANGED;
                    } else {
                        $manager->update($cm, $desired, $current);
                        $status = helper::STATUS_UPDATED;
                    }
                }
                $results[] = [
                    'idnumber' => $idnumber,
                    'cmid' => $cmid,
                    'instanceid' => $instanceid,
                    'modname' => $activity['modname'],
                    'status' => $status,
                ];
            }

            $criteria = ['status' => helper::STATUS_UNCHANGED, 'count' => 0];
            if ($params['completioncriteria']) {
                $cmids = self::criteria_cmids($course, $params['completioncriteria']);
                $status = (new completion_criteria_manager($course))->set_activity_criteria($cmids);
                $criteria = ['status' => $status, 'count' => count(array_unique($cmids))];
            }
            return ['activities' => $results, 'completioncriteria' => $criteria];
        });
    }

    /**
     * Resolve criteria idnumbers to course modules that have completion enabled.
     *
     * @param \stdClass $course
     * @param array $criteria request items
     * @return int[] cmids
     */
    protected static function criteria_cmids(\stdClass $course, array $criteria): array {
        $cmids = [];
        foreach ($criteria as $criterion) {
            $idnumber = trim((string)$criterion['idnumber']);
            $cm = $idnumber === '' ? null : helper::find_cm_by_idnumber($course->id, $idnumber);
            if (!$cm || (int)$cm->completion === COMPLETION_TRACKING_NONE || empty($course->enablecompletion)) {
                throw helper::error('invalidcompletioncriteria', $idnumber);
            }
            $cmids[] = (int)$cm->id;
        }
        return $cmids;
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'activities' => new external_multiple_structure(new external_single_structure([
                'idnumber' => new external_value(PARAM_RAW, 'Course module idnumber'),
                'cmid' => new external_value(PARAM_INT, 'Course module id'),
                'instanceid' => new external_value(PARAM_INT, 'Module instance id'),
                'modname' => new external_value(PARAM_ALPHANUMEXT, 'Module name'),
                'status' => new external_value(PARAM_ALPHA, 'created, updated or unchanged'),
            ])),
            'completioncriteria' => new external_single_structure([
                'status' => new external_value(PARAM_ALPHA, 'created, updated or unchanged'),
                'count' => new external_value(PARAM_INT, 'Number of activity criteria requested'),
            ]),
        ]);
    }
}
