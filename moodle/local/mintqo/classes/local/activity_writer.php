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

namespace local_mintqo\local;

use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use stdClass;

/**
 * Page, url, label and assign activities by idnumber, and the course completion criteria over them.
 *
 * Shared by upsert_activities and upsert_course_content; the caller holds the transaction.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class activity_writer {
    /**
     * The request fields of one activity.
     *
     * @param string $modnames description of the allowed module names
     * @return external_value[]
     */
    public static function fields(string $modnames): array {
        return [
            'section' => new external_value(PARAM_INT, 'Section number, 0 or more'),
            'modname' => new external_value(PARAM_ALPHANUMEXT, $modnames),
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
        ];
    }

    /**
     * The answer structure of one activity.
     *
     * @return external_single_structure
     */
    public static function result_structure(): external_single_structure {
        return new external_single_structure([
            'idnumber' => new external_value(PARAM_RAW, 'Course module idnumber'),
            'cmid' => new external_value(PARAM_INT, 'Course module id'),
            'instanceid' => new external_value(PARAM_INT, 'Module instance id'),
            'modname' => new external_value(PARAM_ALPHANUMEXT, 'Module name'),
            'status' => new external_value(PARAM_ALPHA, 'created, updated or unchanged'),
        ]);
    }

    /**
     * The request structure of the completion criteria.
     *
     * @return external_multiple_structure
     */
    public static function criteria_structure(): external_multiple_structure {
        return new external_multiple_structure(new external_single_structure([
            'idnumber' => new external_value(PARAM_RAW, 'idnumber of an activity of the course'),
        ]), 'Course completion = all these activities; empty leaves the criteria alone', VALUE_DEFAULT, []);
    }

    /**
     * The answer structure of the completion criteria.
     *
     * @return external_single_structure
     */
    public static function criteria_result_structure(): external_single_structure {
        return new external_single_structure([
            'status' => new external_value(PARAM_ALPHA, 'created, updated or unchanged'),
            'count' => new external_value(PARAM_INT, 'Number of activity criteria requested'),
        ]);
    }

    /**
     * Check one activity item against those seen before it in the same list.
     *
     * @param array $activity request item
     * @param string[] $modnames module names allowed here
     * @param array $seen idnumber => true, updated
     * @return string the trimmed idnumber
     */
    public static function validate(array $activity, array $modnames, array &$seen): string {
        if (!in_array($activity['modname'], $modnames, true)) {
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
        return $idnumber;
    }

    /**
     * The existing course module with the idnumber, or null; another module type is an error.
     *
     * @param stdClass $course
     * @param string $idnumber
     * @param string $modname the requested type
     * @return stdClass|null course_modules row plus modname
     */
    public static function find_cm(stdClass $course, string $idnumber, string $modname): ?stdClass {
        $cm = helper::find_cm_by_idnumber($course->id, $idnumber);
        if ($cm && $cm->modname !== $modname) {
            throw helper::error(
                'activitytypemismatch',
                ['idnumber' => $idnumber, 'existing' => $cm->modname, 'requested' => $modname]
            );
        }
        return $cm;
    }

    /**
     * Create the activity or bring it to the request.
     *
     * @param activity_manager $manager of the course
     * @param stdClass $course
     * @param array $activity validated request item
     * @return array result row
     */
    public static function upsert(activity_manager $manager, stdClass $course, array $activity): array {
        $idnumber = trim((string)$activity['idnumber']);
        $desired = $manager->desired($activity);
        $cm = self::find_cm($course, $idnumber, $activity['modname']);
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
        return [
            'idnumber' => $idnumber,
            'cmid' => $cmid,
            'instanceid' => $instanceid,
            'modname' => $activity['modname'],
            'status' => $status,
        ];
    }

    /**
     * Course completion = all these activities; an empty list leaves the criteria alone.
     *
     * @param stdClass $course
     * @param array $criteria request items {idnumber}
     * @return array {status, count}
     */
    public static function set_criteria(stdClass $course, array $criteria): array {
        global $CFG;
        require_once($CFG->libdir . '/completionlib.php');
        if (!$criteria) {
            return ['status' => helper::STATUS_UNCHANGED, 'count' => 0];
        }
        $cmids = [];
        foreach ($criteria as $criterion) {
            $idnumber = trim((string)$criterion['idnumber']);
            $cm = $idnumber === '' ? null : helper::find_cm_by_idnumber($course->id, $idnumber);
            if (!$cm || (int)$cm->completion === COMPLETION_TRACKING_NONE || empty($course->enablecompletion)) {
                throw helper::error('invalidcompletioncriteria', $idnumber);
            }
            $cmids[] = (int)$cm->id;
        }
        $status = (new completion_criteria_manager($course))->set_activity_criteria($cmids);
        return ['status' => $status, 'count' => count(array_unique($cmids))];
    }
}
