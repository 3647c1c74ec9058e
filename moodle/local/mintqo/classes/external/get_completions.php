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
use local_mintqo\local\cursor;
use local_mintqo\local\helper;

/**
 * Activity and course completions of many courses in one call, filtered by modification time.
 *
 * Core answers one user and one course per call, which does not scale to a cohort sync. With a cursor (1.3.0)
 * both lists are read as keyset pages after the cursor's positions (see \local_mintqo\local\cursor); without
 * one the 1.2 offset paging answers as before.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_completions extends external_api {
    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseids' => new external_multiple_structure(new external_value(PARAM_INT, 'Course id')),
            'since' => new external_value(PARAM_INT, 'Only rows changed at or after this time', VALUE_DEFAULT, 0),
            'limitfrom' => new external_value(PARAM_INT, 'Rows to skip in each list (not with a cursor)', VALUE_DEFAULT, 0),
            'limitnum' => new external_value(PARAM_INT, 'Rows to return per list, at most 5000', VALUE_DEFAULT, 1000),
            'cursor' => new external_value(
                PARAM_RAW,
                'Keyset cursor of a previous answer, "" from the beginning (or since); absent: offset paging',
                VALUE_DEFAULT,
                null,
                NULL_ALLOWED
            ),
        ]);
    }

    /**
     * Read the completions.
     *
     * @param array $courseids
     * @param int $since
     * @param int $limitfrom
     * @param int $limitnum
     * @param string|null $cursor
     * @return array
     */
    public static function execute(
        array $courseids,
        int $since = 0,
        int $limitfrom = 0,
        int $limitnum = 1000,
        ?string $cursor = null
    ): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), [
            'courseids' => $courseids, 'since' => $since, 'limitfrom' => $limitfrom, 'limitnum' => $limitnum,
            'cursor' => $cursor,
        ]);
        helper::validate_paging($params['limitfrom'], $params['limitnum']);
        $cursor = $params['cursor'];
        if ($cursor !== null && $params['limitfrom'] > 0) {
            throw new \invalid_parameter_exception('limitfrom cannot be combined with a cursor');
        }
        $courseids = array_values(array_unique(array_map('intval', $params['courseids'])));
        $empty = ['activities' => [], 'courses' => [], 'totalactivities' => 0, 'totalcourses' => 0,
            'nextcursor' => (string)$cursor, 'hasmore' => false];
        $positions = $cursor === null ? null : cursor::decode($cursor, 'c', 2, $params['since']);
        if (!$courseids) {
            return $empty;
        }
        foreach ($courseids as $courseid) {
            helper::require_course_access(helper::get_course($courseid), ['report/progress:view']);
        }

        [$insql, $inparams] = $DB->get_in_or_equal($courseids, SQL_PARAMS_NAMED, 'course');
        // Course completions have no timemodified: the newest of their three timestamps stands in for it.
        $started = "CASE WHEN cc.timestarted > cc.timeenrolled THEN cc.timestarted ELSE cc.timeenrolled END";
        $modified = "CASE WHEN COALESCE(cc.timecompleted, 0) > {$started}
                          THEN cc.timecompleted ELSE {$started} END";
        $lists = [
            'activities' => [
                'from' => "FROM {course_modules_completion} cmc
                           JOIN {course_modules} cm ON cm.id = cmc.coursemoduleid
                           JOIN {modules} m ON m.id = cm.module
                          WHERE cm.course {$insql}",
                'time' => 'cmc.timemodified',
                'id' => 'cmc.id',
                'select' => "SELECT cmc.id, cm.course, cm.id AS cmid, cm.idnumber, m.name AS modname,
                                    cmc.userid, cmc.completionstate, cmc.timemodified, cmc.overrideby",
                'row' => [self::class, 'activity_row'],
            ],
            'courses' => [
                'from' => "FROM {course_completions} cc
                          WHERE cc.course {$insql}",
                'time' => $modified,
                'id' => 'cc.id',
                'select' => "SELECT cc.id, cc.course, cc.userid, cc.timeenrolled, cc.timestarted,
                                    cc.timecompleted, {$modified} AS timemodified",
                'row' => [self::class, 'course_row'],
            ],
        ];

        $answer = ['nextcursor' => '', 'hasmore' => false];
        $next = [];
        $index = 0;
        foreach ($lists as $name => $list) {
            $total = 'total' . $name;
            if ($positions === null) {
                $where = "{$list['time']} >= :since";
                $sqlparams = $inparams + ['since' => $params['since']];
                $answer[$total] = (int)$DB->count_records_sql("SELECT COUNT(1) {$list['from']} AND {$where}", $sqlparams);
                $rows = $DB->get_recordset_sql(
                    "{$list['select']} {$list['from']} AND {$where} ORDER BY {$list['time']}, {$list['id']}",
                    $sqlparams,
                    $params['limitfrom'],
                    $params['limitnum']
                );
                $answer[$name] = [];
                foreach ($rows as $row) {
                    $answer[$name][] = call_user_func($list['row'], $row);
                }
                $rows->close();
                $answer['hasmore'] = $answer['hasmore'] || $params['limitfrom'] + $params['limitnum'] < $answer[$total];
                continue;
            }
            [$where, $keyparams] = cursor::after_sql($list['time'], $list['id'], $positions[$index], 'k');
            $sqlparams = $inparams + $keyparams;
            $answer[$total] = (int)$DB->count_records_sql("SELECT COUNT(1) {$list['from']} AND {$where}", $sqlparams);
            $rows = $DB->get_recordset_sql(
                "{$list['select']} {$list['from']} AND {$where} ORDER BY {$list['time']}, {$list['id']}",
                $sqlparams,
                0,
                $params['limitnum'] + 1
            );
            $answer[$name] = [];
            $position = $positions[$index];
            foreach ($rows as $row) {
                if (count($answer[$name]) === $params['limitnum']) {
                    $answer['hasmore'] = true;
                    break;
                }
                $answer[$name][] = call_user_func($list['row'], $row);
                $position = [(int)$row->timemodified, (int)$row->id];
            }
            $rows->close();
            $next[] = $position;
            $index++;
        }
        if ($positions !== null) {
            $moved = $answer['activities'] || $answer['courses'];
            $answer['nextcursor'] = $moved ? cursor::encode('c', $next) : $cursor;
        }
        return $answer;
    }

    /**
     * One activity completion as the answer has it.
     *
     * @param \stdClass $row
     * @return array
     */
    protected static function activity_row(\stdClass $row): array {
        return [
            'courseid' => (int)$row->course,
            'cmid' => (int)$row->cmid,
            'idnumber' => (string)$row->idnumber,
            'modname' => (string)$row->modname,
            'userid' => (int)$row->userid,
            'state' => (int)$row->completionstate,
            'timemodified' => (int)$row->timemodified,
            'overrideby' => $row->overrideby === null ? null : (int)$row->overrideby,
        ];
    }

    /**
     * One course completion as the answer has it.
     *
     * @param \stdClass $row
     * @return array
     */
    protected static function course_row(\stdClass $row): array {
        return [
            'courseid' => (int)$row->course,
            'userid' => (int)$row->userid,
            'timeenrolled' => (int)$row->timeenrolled,
            'timestarted' => (int)$row->timestarted,
            'timecompleted' => $row->timecompleted === null ? null : (int)$row->timecompleted,
            'timemodified' => (int)$row->timemodified,
        ];
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'activities' => new external_multiple_structure(new external_single_structure([
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'cmid' => new external_value(PARAM_INT, 'Course module id'),
                'idnumber' => new external_value(PARAM_RAW, 'Course module idnumber'),
                'modname' => new external_value(PARAM_ALPHANUMEXT, 'Module name'),
                'userid' => new external_value(PARAM_INT, 'User id'),
                'state' => new external_value(PARAM_INT, '0 incomplete, 1 complete, 2 complete pass, 3 complete fail'),
                'timemodified' => new external_value(PARAM_INT, 'Last change'),
                'overrideby' => new external_value(
                    PARAM_INT,
                    'User who overrode the state, or null',
                    VALUE_REQUIRED,
                    null,
                    NULL_ALLOWED
                ),
            ])),
            'courses' => new external_multiple_structure(new external_single_structure([
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'userid' => new external_value(PARAM_INT, 'User id'),
                'timeenrolled' => new external_value(PARAM_INT, 'Enrolment time'),
                'timestarted' => new external_value(PARAM_INT, 'Start time'),
                'timecompleted' => new external_value(
                    PARAM_INT,
                    'Completion time, or null',
                    VALUE_REQUIRED,
                    null,
                    NULL_ALLOWED
                ),
                'timemodified' => new external_value(PARAM_INT, 'Newest of the three times'),
            ])),
            'totalactivities' => new external_value(PARAM_INT, 'Number of matching activity rows'),
            'totalcourses' => new external_value(PARAM_INT, 'Number of matching course rows'),
            'nextcursor' => new external_value(PARAM_RAW, 'Cursor for the next call ("" without a cursor)'),
            'hasmore' => new external_value(PARAM_BOOL, 'Whether another call would return more rows'),
        ]);
    }
}
