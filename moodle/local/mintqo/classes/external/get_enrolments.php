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
 * Enrolments and group memberships of many courses changed after a cursor, with a digest per course.
 *
 * Core's core_enrol_get_enrolled_users reads one course in full per call and says nothing about suspension or
 * when anything changed. Here one row per user and course (any enrolment method) comes when its enrolment, its
 * enrolment method or one of its role assignments changed, a group membership when it was added. Deletions leave
 * no row to read, so every answer carries a digest per course: the client computes the same from its rows, and a
 * difference means rows were removed in Moodle; it then names the course in fullcourseids and gets every row.
 *
 * Digest: enrolments = enrolled users, enrolsum = sum of their ids, roles = (user, role) pairs of enrolled users
 * in the course context, members = group memberships, membersum = sum of groupid * userid.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_enrolments extends external_api {
    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseids' => new external_multiple_structure(new external_value(PARAM_INT, 'Course id')),
            'cursor' => new external_value(PARAM_RAW, 'Cursor of a previous answer, "" from the beginning', VALUE_DEFAULT, ''),
            'limitnum' => new external_value(PARAM_INT, 'Rows per list and page, at most 5000', VALUE_DEFAULT, 1000),
            'fullcourseids' => new external_multiple_structure(
                new external_value(PARAM_INT, 'Course id'),
                'Courses (among courseids) whose rows all come, whatever the cursor',
                VALUE_DEFAULT,
                []
            ),
        ]);
    }

    /**
     * Read the enrolments.
     *
     * @param array $courseids
     * @param string $cursor
     * @param int $limitnum
     * @param array $fullcourseids
     * @return array
     */
    public static function execute(
        array $courseids,
        string $cursor = '',
        int $limitnum = 1000,
        array $fullcourseids = []
    ): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), [
            'courseids' => $courseids, 'cursor' => $cursor, 'limitnum' => $limitnum, 'fullcourseids' => $fullcourseids,
        ]);
        helper::validate_paging(0, $params['limitnum']);
        $cursor = $params['cursor'];
        $courseids = array_values(array_unique(array_map('intval', $params['courseids'])));
        $full = array_values(array_unique(array_map('intval', $params['fullcourseids'])));
        foreach ($courseids as $courseid) {
            helper::require_course_access(
                helper::get_course($courseid),
                ['moodle/course:enrolreview', 'moodle/site:accessallgroups']
            );
        }
        foreach ($full as $courseid) {
            if (!in_array($courseid, $courseids)) {
                throw new \invalid_parameter_exception("fullcourseids: course {$courseid} is not one of courseids");
            }
        }
        [$enrolposition, $memberposition] = cursor::decode($cursor, 'e', 2);
        $answer = ['enrolments' => [], 'members' => [], 'digests' => [], 'nextcursor' => $cursor, 'hasmore' => false];
        if (!$courseids) {
            return $answer;
        }

        $paged = array_values(array_diff($courseids, $full));
        $nextenrol = $enrolposition;
        $nextmember = $memberposition;
        if ($paged) {
            [$where, $keyparams] = cursor::after_sql('x.timemodified', 'x.ueid', $enrolposition, 'ke');
            [$rows, $more] = self::page(
                self::enrolment_sql($paged, "WHERE {$where}"),
                $keyparams,
                $params['limitnum'],
                'x.timemodified, x.ueid'
            );
            foreach ($rows as $row) {
                $nextenrol = [(int)$row->timemodified, (int)$row->ueid];
            }
            $answer['enrolments'] = self::enrolment_rows($rows);
            $answer['hasmore'] = $more;

            [$where, $keyparams] = cursor::after_sql('gm.timeadded', 'gm.id', $memberposition, 'km');
            [$sql, $sqlparams] = self::member_sql($paged, $where);
            [$rows, $more] = self::page([$sql, $sqlparams], $keyparams, $params['limitnum'], 'gm.timeadded, gm.id');
            foreach ($rows as $row) {
                $nextmember = [(int)$row->timeadded, (int)$row->id];
            }
            $answer['members'] = self::member_rows($rows);
            $answer['hasmore'] = $answer['hasmore'] || $more;
        }
        if ($answer['enrolments'] || $answer['members']) {
            $answer['nextcursor'] = cursor::encode('e', [$nextenrol, $nextmember]);
        }
        if ($full) {
            [$sql, $sqlparams] = self::enrolment_sql($full, '');
            $rows = $DB->get_records_sql("{$sql} ORDER BY x.courseid, x.userid", $sqlparams);
            $answer['enrolments'] = array_merge($answer['enrolments'], self::enrolment_rows(array_values($rows)));
            [$sql, $sqlparams] = self::member_sql($full, '1 = 1');
            $rows = $DB->get_records_sql("{$sql} ORDER BY g.courseid, gm.groupid, gm.userid", $sqlparams);
            $answer['members'] = array_merge($answer['members'], self::member_rows(array_values($rows)));
        }
        $answer['digests'] = self::digests($courseids);
        return $answer;
    }

    /**
     * Up to $limitnum rows of a query after the cursor, and whether there are more.
     *
     * @param array $query [sql, params]
     * @param array $keyparams the cursor's parameters
     * @param int $limitnum
     * @param string $order
     * @return array [rows, more]
     */
    protected static function page(array $query, array $keyparams, int $limitnum, string $order): array {
        global $DB;
        [$sql, $sqlparams] = $query;
        $rows = array_values($DB->get_records_sql("{$sql} ORDER BY {$order}", $sqlparams + $keyparams, 0, $limitnum + 1));
        $more = count($rows) > $limitnum;
        return [array_slice($rows, 0, $limitnum), $more];
    }

    /**
     * One row per user and course: the newest change of the user's enrolments, their methods and role assignments.
     *
     * @param array $courseids
     * @param string $where condition on x (the rows), with a leading WHERE, or ""
     * @return array [sql, params]
     */
    protected static function enrolment_sql(array $courseids, string $where): array {
        global $DB;
        [$in1, $params1] = $DB->get_in_or_equal($courseids, SQL_PARAMS_NAMED, 'ec');
        [$in2, $params2] = $DB->get_in_or_equal($courseids, SQL_PARAMS_NAMED, 'rc');
        $uetime = "CASE WHEN e.timemodified > ue.timemodified THEN e.timemodified ELSE ue.timemodified END";
        $sql = "SELECT x.*
                  FROM (SELECT u.ueid, u.courseid, u.userid, u.status, u.timestart, u.timeend,
                               CASE WHEN COALESCE(r.ratime, 0) > u.uetime THEN r.ratime ELSE u.uetime END AS timemodified
                          FROM (SELECT MIN(ue.id) AS ueid, e.courseid, ue.userid,
                                       MIN(CASE WHEN ue.status = 0 AND e.status = 0 THEN 0 ELSE 1 END) AS status,
                                       MIN(ue.timestart) AS timestart,
                                       CASE WHEN MIN(ue.timeend) = 0 THEN 0 ELSE MAX(ue.timeend) END AS timeend,
                                       MAX({$uetime}) AS uetime
                                  FROM {user_enrolments} ue
                                  JOIN {enrol} e ON e.id = ue.enrolid
                                 WHERE e.courseid {$in1}
                              GROUP BY e.courseid, ue.userid) u
                     LEFT JOIN (SELECT ctx.instanceid AS courseid, ra.userid, MAX(ra.timemodified) AS ratime
                                  FROM {role_assignments} ra
                                  JOIN {context} ctx ON ctx.id = ra.contextid AND ctx.contextlevel = :ctxlevel
                                 WHERE ctx.instanceid {$in2}
                              GROUP BY ctx.instanceid, ra.userid) r
                            ON r.courseid = u.courseid AND r.userid = u.userid) x
                {$where}";
        return [$sql, $params1 + $params2 + ['ctxlevel' => CONTEXT_COURSE]];
    }

    /**
     * Group memberships of the courses' groups.
     *
     * @param array $courseids
     * @param string $where condition on gm
     * @return array [sql, params]
     */
    protected static function member_sql(array $courseids, string $where): array {
        global $DB;
        [$in, $params] = $DB->get_in_or_equal($courseids, SQL_PARAMS_NAMED, 'mc');
        $sql = "SELECT gm.id, g.courseid, gm.groupid, g.idnumber AS groupidnumber, gm.userid, gm.timeadded
                  FROM {groups_members} gm
                  JOIN {groups} g ON g.id = gm.groupid
                 WHERE g.courseid {$in} AND {$where}";
        return [$sql, $params];
    }

    /**
     * Enrolment rows as the answer has them, with role shortnames.
     *
     * @param array $rows
     * @return array
     */
    protected static function enrolment_rows(array $rows): array {
        global $DB;
        if (!$rows) {
            return [];
        }
        $courseids = array_unique(array_map(fn($r) => (int)$r->courseid, $rows));
        $userids = array_unique(array_map(fn($r) => (int)$r->userid, $rows));
        [$cin, $cparams] = $DB->get_in_or_equal($courseids, SQL_PARAMS_NAMED, 'rc');
        [$uin, $uparams] = $DB->get_in_or_equal($userids, SQL_PARAMS_NAMED, 'ru');
        $roles = [];
        $assigned = $DB->get_recordset_sql(
            "SELECT DISTINCT ctx.instanceid AS courseid, ra.userid, r.shortname
               FROM {role_assignments} ra
               JOIN {context} ctx ON ctx.id = ra.contextid AND ctx.contextlevel = :ctxlevel
               JOIN {role} r ON r.id = ra.roleid
              WHERE ctx.instanceid {$cin} AND ra.userid {$uin}",
            $cparams + $uparams + ['ctxlevel' => CONTEXT_COURSE]
        );
        foreach ($assigned as $ra) {
            $roles[$ra->courseid . ':' . $ra->userid][] = (string)$ra->shortname;
        }
        $assigned->close();
        $out = [];
        foreach ($rows as $row) {
            $names = $roles[$row->courseid . ':' . $row->userid] ?? [];
            sort($names);
            $out[] = [
                'courseid' => (int)$row->courseid,
                'userid' => (int)$row->userid,
                'roles' => $names,
                'status' => (int)$row->status,
                'timestart' => (int)$row->timestart,
                'timeend' => (int)$row->timeend,
                'timemodified' => (int)$row->timemodified,
            ];
        }
        return $out;
    }

    /**
     * Member rows as the answer has them.
     *
     * @param array $rows
     * @return array
     */
    protected static function member_rows(array $rows): array {
        $out = [];
        foreach ($rows as $row) {
            $out[] = [
                'courseid' => (int)$row->courseid,
                'groupid' => (int)$row->groupid,
                'groupidnumber' => (string)$row->groupidnumber,
                'userid' => (int)$row->userid,
                'timeadded' => (int)$row->timeadded,
            ];
        }
        return $out;
    }

    /**
     * The digest of every course: three aggregate queries, whatever the number of courses.
     *
     * @param array $courseids
     * @return array
     */
    protected static function digests(array $courseids): array {
        global $DB;
        $digests = [];
        foreach ($courseids as $courseid) {
            $digests[$courseid] = ['courseid' => $courseid, 'enrolments' => 0, 'enrolsum' => 0, 'roles' => 0,
                'members' => 0, 'membersum' => 0];
        }
        [$in, $params] = $DB->get_in_or_equal($courseids, SQL_PARAMS_NAMED, 'dc');
        $enrolled = "SELECT DISTINCT e.courseid, ue.userid
                       FROM {user_enrolments} ue
                       JOIN {enrol} e ON e.id = ue.enrolid
                      WHERE e.courseid {$in}";
        $rows = $DB->get_records_sql(
            "SELECT d.courseid, COUNT(1) AS n, SUM(d.userid) AS total FROM ({$enrolled}) d GROUP BY d.courseid",
            $params
        );
        foreach ($rows as $row) {
            $digests[$row->courseid]['enrolments'] = (int)$row->n;
            $digests[$row->courseid]['enrolsum'] = (int)$row->total;
        }
        [$in2, $params2] = $DB->get_in_or_equal($courseids, SQL_PARAMS_NAMED, 'dr');
        $rows = $DB->get_records_sql(
            "SELECT d.courseid, COUNT(1) AS n
               FROM (SELECT DISTINCT ctx.instanceid AS courseid, ra.userid, ra.roleid
                       FROM {role_assignments} ra
                       JOIN {context} ctx ON ctx.id = ra.contextid AND ctx.contextlevel = :ctxlevel
                       JOIN ({$enrolled}) en ON en.courseid = ctx.instanceid AND en.userid = ra.userid
                      WHERE ctx.instanceid {$in2}) d
           GROUP BY d.courseid",
            $params + $params2 + ['ctxlevel' => CONTEXT_COURSE]
        );
        foreach ($rows as $row) {
            $digests[$row->courseid]['roles'] = (int)$row->n;
        }
        $rows = $DB->get_records_sql(
            "SELECT g.courseid, COUNT(1) AS n, SUM(gm.groupid * gm.userid) AS total
               FROM {groups_members} gm
               JOIN {groups} g ON g.id = gm.groupid
              WHERE g.courseid {$in}
           GROUP BY g.courseid",
            $params
        );
        foreach ($rows as $row) {
            $digests[$row->courseid]['members'] = (int)$row->n;
            $digests[$row->courseid]['membersum'] = (int)$row->total;
        }
        return array_values($digests);
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'enrolments' => new external_multiple_structure(new external_single_structure([
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'userid' => new external_value(PARAM_INT, 'User id'),
                'roles' => new external_multiple_structure(
                    new external_value(PARAM_ALPHANUMEXT, 'Role shortname in the course context')
                ),
                'status' => new external_value(PARAM_INT, '0 active, 1 suspended (enrolment or enrolment method)'),
                'timestart' => new external_value(PARAM_INT, 'Enrolment start, 0 none'),
                'timeend' => new external_value(PARAM_INT, 'Enrolment end, 0 none'),
                'timemodified' => new external_value(PARAM_INT, 'Newest change of enrolment, method or role'),
            ])),
            'members' => new external_multiple_structure(new external_single_structure([
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'groupid' => new external_value(PARAM_INT, 'Group id'),
                'groupidnumber' => new external_value(PARAM_RAW, 'Group idnumber'),
                'userid' => new external_value(PARAM_INT, 'User id'),
                'timeadded' => new external_value(PARAM_INT, 'When the user was added'),
            ])),
            'digests' => new external_multiple_structure(new external_single_structure([
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'enrolments' => new external_value(PARAM_INT, 'Enrolled users'),
                'enrolsum' => new external_value(PARAM_INT, 'Sum of their user ids'),
                'roles' => new external_value(PARAM_INT, '(user, role) pairs of enrolled users in the course context'),
                'members' => new external_value(PARAM_INT, 'Group memberships'),
                'membersum' => new external_value(PARAM_INT, 'Sum of groupid * userid'),
            ])),
            'nextcursor' => new external_value(PARAM_RAW, 'Cursor for the next call'),
            'hasmore' => new external_value(PARAM_BOOL, 'Whether another call would return more rows'),
        ]);
    }
}
