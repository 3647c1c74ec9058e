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

use context_coursecat;
use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use local_mintqo\local\activity_manager;
use local_mintqo\local\helper;

/**
 * Everything provisioning compares, for many courses in one call: the course, its sections, activities, quizzes
 * with their question idnumbers, groups with members, enrolments with roles, and the users in them.
 *
 * Core answers these one course per call (core_enrol_get_enrolled_users, core_group_get_course_groups,
 * core_course_get_contents), so an unchanged provisioning run grew with the cohort. Courses are selected by
 * category idnumber (its direct children: the first read of a cohort needs no course ids), by id and by idnumber,
 * and paged by course. Names and summaries are raw, as Moodle stores them (no format_string/format_text).
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_course_state extends external_api {
    /** @var int Most courses in one answer (a regional course of the programme answers about 11 KB). */
    public const MAX_COURSES = 200;

    /** @var string[] Capabilities required in each course: those of the core reads this replaces, and course:update
     * (the raw content of hidden sections and activities is what editing shows). */
    public const COURSE_CAPABILITIES = [
        'moodle/course:update',
        'moodle/course:viewparticipants',
        'moodle/course:managegroups',
    ];

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'categoryidnumber' => new external_value(
                PARAM_RAW,
                'Select the courses directly in the category with this idnumber ("" none)',
                VALUE_DEFAULT,
                ''
            ),
            'courseids' => new external_multiple_structure(
                new external_value(PARAM_INT, 'Course id'),
                'Select these courses (each must exist)',
                VALUE_DEFAULT,
                []
            ),
            'courseidnumbers' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'Course idnumber'),
                'Select the courses with these idnumbers (unknown ones are left out)',
                VALUE_DEFAULT,
                []
            ),
            'limitfrom' => new external_value(PARAM_INT, 'Selected courses to skip (ordered by id)', VALUE_DEFAULT, 0),
            'limitnum' => new external_value(PARAM_INT, 'Courses to return, at most 200', VALUE_DEFAULT, 50),
        ]);
    }

    /**
     * Read the state.
     *
     * @param string $categoryidnumber
     * @param array $courseids
     * @param array $courseidnumbers
     * @param int $limitfrom
     * @param int $limitnum
     * @return array
     */
    public static function execute(
        string $categoryidnumber = '',
        array $courseids = [],
        array $courseidnumbers = [],
        int $limitfrom = 0,
        int $limitnum = 50
    ): array {
        global $CFG, $DB;
        require_once($CFG->libdir . '/enrollib.php');
        $params = self::validate_parameters(self::execute_parameters(), [
            'categoryidnumber' => $categoryidnumber, 'courseids' => $courseids, 'courseidnumbers' => $courseidnumbers,
            'limitfrom' => $limitfrom, 'limitnum' => $limitnum,
        ]);
        if ($params['limitfrom'] < 0) {
            throw new \invalid_parameter_exception('limitfrom must be >= 0');
        }
        if ($params['limitnum'] < 1 || $params['limitnum'] > self::MAX_COURSES) {
            throw new \invalid_parameter_exception('limitnum must be between 1 and ' . self::MAX_COURSES);
        }

        $selected = [];
        $categories = [];
        $categoryroles = [];
        $identitycontexts = [];
        if ($params['categoryidnumber'] !== '') {
            $category = $DB->get_record('course_categories', ['idnumber' => $params['categoryidnumber']]);
            if ($category) {
                $context = context_coursecat::instance($category->id);
                self::validate_context($context);
                if (!$category->visible) {
                    require_capability('moodle/category:viewhiddencategories', $context);
                }
                // Who holds which role here: only someone who may assign roles in the category is told.
                require_capability('moodle/role:assign', $context);
                $categories = self::category_chain($category);
                $categoryroles = self::category_roles($context->id);
                $identitycontexts[] = $context;
                foreach ($DB->get_fieldset_select('course', 'id', 'category = ?', [$category->id]) as $id) {
                    $selected[(int)$id] = true;
                }
            }
        }
        foreach ($params['courseids'] as $courseid) {
            $selected[(int)helper::get_course((int)$courseid)->id] = true;
        }
        $idnumbers = array_values(array_filter(array_unique($params['courseidnumbers']), fn($i) => $i !== ''));
        if ($idnumbers) {
            [$insql, $inparams] = $DB->get_in_or_equal($idnumbers, SQL_PARAMS_NAMED, 'idn');
            foreach ($DB->get_fieldset_select('course', 'id', "idnumber {$insql}", $inparams) as $id) {
                $selected[(int)$id] = true;
            }
        }
        unset($selected[SITEID]);
        $ids = array_keys($selected);
        sort($ids);
        $total = count($ids);
        $pageids = array_slice($ids, $params['limitfrom'], $params['limitnum']);

        $courses = [];
        $userids = [];
        foreach ($categoryroles as $role) {
            $userids[$role['userid']] = true;
        }
        if ($pageids) {
            $records = $DB->get_records_list('course', 'id', $pageids, 'id');
            foreach ($records as $course) {
                $identitycontexts[] = helper::require_course_access($course, self::COURSE_CAPABILITIES);
            }
            $courses = self::courses($records);
            foreach ($courses as $course) {
                foreach ($course['enrolments'] as $enrolment) {
                    $userids[$enrolment['userid']] = true;
                }
            }
        }

        return [
            'categories' => $categories,
            'categoryroles' => $categoryroles,
            'courses' => array_values($courses),
            'users' => self::users(array_keys($userids), $identitycontexts),
            'total' => $total,
        ];
    }

    /**
     * The category and its parents, nearest first.
     *
     * @param \stdClass $category
     * @return array
     */
    protected static function category_chain(\stdClass $category): array {
        global $DB;
        $ids = array_reverse(array_map('intval', array_filter(explode('/', $category->path))));
        $records = $DB->get_records_list('course_categories', 'id', $ids, '', 'id, idnumber, name, parent, visible');
        $chain = [];
        foreach ($ids as $id) {
            if (isset($records[$id])) {
                $record = $records[$id];
                $chain[] = [
                    'id' => (int)$record->id,
                    'idnumber' => (string)$record->idnumber,
                    'name' => (string)$record->name,
                    'parent' => (int)$record->parent,
                    'visible' => (int)$record->visible,
                ];
            }
        }
        return $chain;
    }

    /**
     * Role assignments in a context.
     *
     * @param int $contextid
     * @return array
     */
    protected static function category_roles(int $contextid): array {
        global $DB;
        $sql = "SELECT ra.id, ra.userid, ra.roleid, r.shortname
                  FROM {role_assignments} ra
                  JOIN {role} r ON r.id = ra.roleid
                  JOIN {user} u ON u.id = ra.userid AND u.deleted = 0
                 WHERE ra.contextid = :contextid
              ORDER BY ra.userid, ra.roleid, ra.id";
        $roles = [];
        foreach ($DB->get_records_sql($sql, ['contextid' => $contextid]) as $row) {
            $roles[$row->userid . ':' . $row->roleid] = [
                'userid' => (int)$row->userid,
                'roleid' => (int)$row->roleid,
                'shortname' => (string)$row->shortname,
            ];
        }
        return array_values($roles);
    }

    /**
     * Sections, activities, quizzes, groups and enrolments of the courses, a few queries for all of them.
     *
     * @param \stdClass[] $records course records by id
     * @return array course id => course state
     */
    protected static function courses(array $records): array {
        global $DB;
        $courses = [];
        foreach ($records as $record) {
            $courses[(int)$record->id] = [
                'id' => (int)$record->id,
                'idnumber' => (string)$record->idnumber,
                'shortname' => (string)$record->shortname,
                'fullname' => (string)$record->fullname,
                'summary' => (string)$record->summary,
                'summaryformat' => (int)$record->summaryformat,
                'visible' => (int)$record->visible,
                'startdate' => (int)$record->startdate,
                'enddate' => (int)$record->enddate,
                'format' => (string)$record->format,
                'category' => (int)$record->category,
                'sections' => [],
                'activities' => [],
                'quizzes' => [],
                'groups' => [],
                'enrolments' => [],
            ];
        }
        [$insql, $params] = $DB->get_in_or_equal(array_keys($courses), SQL_PARAMS_NAMED, 'course');

        $sections = $DB->get_records_select(
            'course_sections',
            "course {$insql}",
            $params,
            'course, section',
            'id, course, section, name, summary, visible'
        );
        foreach ($sections as $section) {
            $courses[(int)$section->course]['sections'][] = [
                'id' => (int)$section->id,
                'section' => (int)$section->section,
                'name' => (string)$section->name,
                'summary' => (string)$section->summary,
                'visible' => (int)$section->visible,
            ];
        }

        self::add_activities($courses, $insql, $params);
        self::add_groups($courses, $insql, $params);
        self::add_enrolments($courses, $insql, $params);
        return $courses;
    }

    /**
     * Activities (with instance names and completion settings) and quizzes (with question idnumbers by slot).
     *
     * @param array $courses course id => state, changed in place
     * @param string $insql course id IN (...)
     * @param array $params its parameters
     */
    protected static function add_activities(array &$courses, string $insql, array $params): void {
        global $DB;
        $sql = "SELECT cm.id, cm.course, cm.instance, cm.idnumber, cm.visible, cm.completion, cm.completionview,
                       cm.completionexpected, m.name AS modname, cs.section AS sectionnum, ctx.id AS contextid
                  FROM {course_modules} cm
                  JOIN {modules} m ON m.id = cm.module
                  JOIN {course_sections} cs ON cs.id = cm.section
                  JOIN {context} ctx ON ctx.instanceid = cm.id AND ctx.contextlevel = :modulelevel
                 WHERE cm.course {$insql} AND cm.deletioninprogress = 0
              ORDER BY cm.id";
        $cms = $DB->get_records_sql($sql, $params + ['modulelevel' => CONTEXT_MODULE]);
        if (!$cms) {
            return;
        }

        $instances = [];
        foreach ($cms as $cm) {
            $instances[$cm->modname][] = (int)$cm->instance;
        }
        $fields = [
            'assign' => 'id, name, completionsubmit',
            'quiz' => 'id, name, attempts, grademethod, timeopen, timeclose',
        ];
        $records = [];
        foreach ($instances as $modname => $ids) {
            $records[$modname] = $DB->get_records_list($modname, 'id', $ids, '', $fields[$modname] ?? 'id, name');
        }

        // Participants who may not mark an activity done themselves: a CAP_PREVENT override of togglecompletion
        // for every participant role in the module context (see activity_manager::set_selfcompletion()).
        $roleids = activity_manager::participant_roles();
        $prevented = [];
        if ($roleids) {
            [$rolesql, $roleparams] = $DB->get_in_or_equal($roleids, SQL_PARAMS_NAMED, 'role');
            $sql = "SELECT rc.contextid, COUNT(DISTINCT rc.roleid) AS roles
                      FROM {role_capabilities} rc
                      JOIN {context} ctx ON ctx.id = rc.contextid AND ctx.contextlevel = :modulelevel
                      JOIN {course_modules} cm ON cm.id = ctx.instanceid
                     WHERE cm.course {$insql} AND rc.capability = :capability AND rc.permission = :prevent
                       AND rc.roleid {$rolesql}
                  GROUP BY rc.contextid";
            $prevented = $DB->get_records_sql_menu($sql, $params + $roleparams + [
                'modulelevel' => CONTEXT_MODULE,
                'capability' => activity_manager::TOGGLE_CAPABILITY,
                'prevent' => CAP_PREVENT,
            ]);
        }

        $questions = self::quiz_questions($insql, $params);
        foreach ($cms as $cm) {
            $instance = $records[$cm->modname][$cm->instance] ?? null;
            $count = (int)($prevented[$cm->contextid] ?? 0);
            $courses[(int)$cm->course]['activities'][] = [
                'cmid' => (int)$cm->id,
                'instance' => (int)$cm->instance,
                'idnumber' => (string)$cm->idnumber,
                'modname' => (string)$cm->modname,
                'name' => $instance ? (string)$instance->name : '',
                'section' => (int)$cm->sectionnum,
                'visible' => (int)$cm->visible,
                'completion' => (int)$cm->completion,
                'completionview' => (int)$cm->completionview,
                'completionexpected' => (int)$cm->completionexpected,
                'completionsubmit' => ($cm->modname === 'assign' && $instance) ? (int)$instance->completionsubmit : 0,
                'selfcompletion' => $count === 0 ? 1 : ($count === count($roleids) ? 0 : -1),
            ];
            if ($cm->modname === 'quiz' && $instance) {
                $courses[(int)$cm->course]['quizzes'][] = [
                    'cmid' => (int)$cm->id,
                    'quizid' => (int)$instance->id,
                    'idnumber' => (string)$cm->idnumber,
                    'name' => (string)$instance->name,
                    'attempts' => (int)$instance->attempts,
                    'grademethod' => (int)$instance->grademethod,
                    'timeopen' => (int)$instance->timeopen,
                    'timeclose' => (int)$instance->timeclose,
                    'questions' => $questions[(int)$instance->id] ?? [],
                ];
            }
        }
    }

    /**
     * The question idnumbers of every quiz of the courses, in slot order.
     *
     * Slots point at question bank entries through question_references (Moodle 4.0 on; unchanged in 5.x, where the
     * entries live in a mod_qbank instance instead of the course); a random slot has none and gives "".
     *
     * @param string $insql course id IN (...)
     * @param array $params its parameters
     * @return array quiz id => question idnumbers
     */
    protected static function quiz_questions(string $insql, array $params): array {
        global $DB;
        $sql = "SELECT qs.id, qs.quizid, qs.slot, qbe.idnumber
                  FROM {quiz_slots} qs
                  JOIN {course_modules} cm ON cm.instance = qs.quizid
                  JOIN {modules} m ON m.id = cm.module AND m.name = :quiz
                  JOIN {context} ctx ON ctx.instanceid = cm.id AND ctx.contextlevel = :modulelevel
             LEFT JOIN {question_references} qr ON qr.itemid = qs.id
                                               AND qr.component = :component
                                               AND qr.questionarea = :area
                                               AND qr.usingcontextid = ctx.id
             LEFT JOIN {question_bank_entries} qbe ON qbe.id = qr.questionbankentryid
                 WHERE cm.course {$insql}
              ORDER BY qs.quizid, qs.slot";
        $rows = $DB->get_recordset_sql($sql, $params + [
            'quiz' => 'quiz',
            'modulelevel' => CONTEXT_MODULE,
            'component' => 'mod_quiz',
            'area' => 'slot',
        ]);
        $questions = [];
        foreach ($rows as $row) {
            $questions[(int)$row->quizid][] = (string)$row->idnumber;
        }
        $rows->close();
        return $questions;
    }

    /**
     * Groups with their members.
     *
     * @param array $courses course id => state, changed in place
     * @param string $insql course id IN (...)
     * @param array $params its parameters
     */
    protected static function add_groups(array &$courses, string $insql, array $params): void {
        global $DB;
        $groups = $DB->get_records_select('groups', "courseid {$insql}", $params, 'id', 'id, courseid, idnumber, name');
        if (!$groups) {
            return;
        }
        $members = [];
        $sql = "SELECT gm.id, gm.groupid, gm.userid
                  FROM {groups_members} gm
                  JOIN {groups} g ON g.id = gm.groupid
                 WHERE g.courseid {$insql}
              ORDER BY gm.groupid, gm.userid";
        $rows = $DB->get_recordset_sql($sql, $params);
        foreach ($rows as $row) {
            $members[(int)$row->groupid][] = (int)$row->userid;
        }
        $rows->close();
        foreach ($groups as $group) {
            $courses[(int)$group->courseid]['groups'][] = [
                'id' => (int)$group->id,
                'idnumber' => (string)$group->idnumber,
                'name' => (string)$group->name,
                'members' => $members[(int)$group->id] ?? [],
            ];
        }
    }

    /**
     * Enrolments (any method; status 0 when one of the user's enrolments is active) with the course roles.
     *
     * @param array $courses course id => state, changed in place
     * @param string $insql course id IN (...)
     * @param array $params its parameters
     */
    protected static function add_enrolments(array &$courses, string $insql, array $params): void {
        global $DB;
        $sql = "SELECT ue.id, e.courseid, ue.userid, ue.status, e.status AS enrolstatus
                  FROM {user_enrolments} ue
                  JOIN {enrol} e ON e.id = ue.enrolid
                  JOIN {user} u ON u.id = ue.userid AND u.deleted = 0
                 WHERE e.courseid {$insql}
              ORDER BY e.courseid, ue.userid, ue.id";
        $enrolled = [];
        $rows = $DB->get_recordset_sql($sql, $params);
        foreach ($rows as $row) {
            $status = ((int)$row->status === ENROL_USER_ACTIVE && (int)$row->enrolstatus === ENROL_INSTANCE_ENABLED)
                ? 0 : 1;
            $key = (int)$row->courseid;
            $previous = $enrolled[$key][(int)$row->userid] ?? 1;
            $enrolled[$key][(int)$row->userid] = min($previous, $status);
        }
        $rows->close();

        $roles = [];
        $sql = "SELECT ra.id, ctx.instanceid AS courseid, ra.userid, ra.roleid, r.shortname
                  FROM {role_assignments} ra
                  JOIN {context} ctx ON ctx.id = ra.contextid AND ctx.contextlevel = :courselevel
                  JOIN {role} r ON r.id = ra.roleid
                 WHERE ctx.instanceid {$insql}
              ORDER BY ra.roleid, ra.id";
        $rows = $DB->get_recordset_sql($sql, $params + ['courselevel' => CONTEXT_COURSE]);
        foreach ($rows as $row) {
            $roles[(int)$row->courseid][(int)$row->userid][(int)$row->roleid] = [
                'roleid' => (int)$row->roleid,
                'shortname' => (string)$row->shortname,
            ];
        }
        $rows->close();

        foreach ($enrolled as $courseid => $users) {
            foreach ($users as $userid => $status) {
                $courses[$courseid]['enrolments'][] = [
                    'userid' => $userid,
                    'status' => $status,
                    'roles' => array_values($roles[$courseid][$userid] ?? []),
                ];
            }
        }
    }

    /**
     * The users named in the answer; their e-mail only where the caller may see identity fields (like core).
     *
     * @param int[] $userids
     * @param \context[] $contexts the contexts the users were found in
     * @return array
     */
    protected static function users(array $userids, array $contexts): array {
        global $DB;
        if (!$userids) {
            return [];
        }
        $showemail = false;
        foreach ($contexts as $context) {
            if (has_capability('moodle/site:viewuseridentity', $context)) {
                $showemail = true;
                break;
            }
        }
        sort($userids);
        $records = $DB->get_records_list('user', 'id', $userids, 'id', 'id, username, idnumber, email, suspended, deleted');
        $users = [];
        foreach ($records as $user) {
            if (!empty($user->deleted)) {
                continue;
            }
            $users[] = [
                'id' => (int)$user->id,
                'username' => (string)$user->username,
                'idnumber' => (string)$user->idnumber,
                'email' => $showemail ? (string)$user->email : '',
                'suspended' => (int)$user->suspended,
            ];
        }
        return $users;
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        $role = [
            'roleid' => new external_value(PARAM_INT, 'Role id'),
            'shortname' => new external_value(PARAM_ALPHANUMEXT, 'Role short name'),
        ];
        return new external_single_structure([
            'categories' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'Category id'),
                'idnumber' => new external_value(PARAM_RAW, 'Category idnumber'),
                'name' => new external_value(PARAM_RAW, 'Category name, raw'),
                'parent' => new external_value(PARAM_INT, 'Parent category id, 0 at the top'),
                'visible' => new external_value(PARAM_INT, '1 visible, 0 hidden'),
            ]), 'The selected category, then its parents up to the top'),
            'categoryroles' => new external_multiple_structure(new external_single_structure([
                'userid' => new external_value(PARAM_INT, 'User id'),
            ] + $role), 'Role assignments in the selected category'),
            'courses' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'Course id'),
                'idnumber' => new external_value(PARAM_RAW, 'Course idnumber'),
                'shortname' => new external_value(PARAM_RAW, 'Short name, raw'),
                'fullname' => new external_value(PARAM_RAW, 'Full name, raw'),
                'summary' => new external_value(PARAM_RAW, 'Summary, raw'),
                'summaryformat' => new external_value(PARAM_INT, 'Summary format'),
                'visible' => new external_value(PARAM_INT, '1 visible, 0 hidden'),
                'startdate' => new external_value(PARAM_INT, 'Start date'),
                'enddate' => new external_value(PARAM_INT, 'End date, 0 none'),
                'format' => new external_value(PARAM_PLUGIN, 'Course format'),
                'category' => new external_value(PARAM_INT, 'Category id'),
                'sections' => new external_multiple_structure(new external_single_structure([
                    'id' => new external_value(PARAM_INT, 'Section id'),
                    'section' => new external_value(PARAM_INT, 'Section number'),
                    'name' => new external_value(PARAM_RAW, 'Name, raw; "" for the format\'s default name'),
                    'summary' => new external_value(PARAM_RAW, 'Summary, raw'),
                    'visible' => new external_value(PARAM_INT, '1 visible, 0 hidden'),
                ])),
                'activities' => new external_multiple_structure(new external_single_structure([
                    'cmid' => new external_value(PARAM_INT, 'Course module id'),
                    'instance' => new external_value(PARAM_INT, 'Instance id'),
                    'idnumber' => new external_value(PARAM_RAW, 'Course module idnumber'),
                    'modname' => new external_value(PARAM_PLUGIN, 'Module name'),
                    'name' => new external_value(PARAM_RAW, 'Instance name, raw'),
                    'section' => new external_value(PARAM_INT, 'Section number'),
                    'visible' => new external_value(PARAM_INT, '1 visible, 0 hidden'),
                    'completion' => new external_value(PARAM_INT, '0 none, 1 manual, 2 automatic'),
                    'completionview' => new external_value(PARAM_INT, 'Complete on view'),
                    'completionexpected' => new external_value(PARAM_INT, 'Expected completion date'),
                    'completionsubmit' => new external_value(PARAM_INT, 'Assignment: complete on submission'),
                    'selfcompletion' => new external_value(
                        PARAM_INT,
                        '1 participants may mark it done, 0 not (every participant role prevented), -1 some roles'
                    ),
                ])),
                'quizzes' => new external_multiple_structure(new external_single_structure([
                    'cmid' => new external_value(PARAM_INT, 'Course module id'),
                    'quizid' => new external_value(PARAM_INT, 'Quiz id'),
                    'idnumber' => new external_value(PARAM_RAW, 'Course module idnumber'),
                    'name' => new external_value(PARAM_RAW, 'Quiz name, raw'),
                    'attempts' => new external_value(PARAM_INT, 'Attempts allowed, 0 unlimited'),
                    'grademethod' => new external_value(PARAM_INT, 'Grading method'),
                    'timeopen' => new external_value(PARAM_INT, 'Opens, 0 always'),
                    'timeclose' => new external_value(PARAM_INT, 'Closes, 0 never'),
                    'questions' => new external_multiple_structure(
                        new external_value(PARAM_RAW, 'Question idnumber ("" for a random slot)'),
                        'Question idnumbers in slot order'
                    ),
                ])),
                'groups' => new external_multiple_structure(new external_single_structure([
                    'id' => new external_value(PARAM_INT, 'Group id'),
                    'idnumber' => new external_value(PARAM_RAW, 'Group idnumber'),
                    'name' => new external_value(PARAM_RAW, 'Group name, raw'),
                    'members' => new external_multiple_structure(new external_value(PARAM_INT, 'User id')),
                ])),
                'enrolments' => new external_multiple_structure(new external_single_structure([
                    'userid' => new external_value(PARAM_INT, 'User id'),
                    'status' => new external_value(PARAM_INT, '0 active, 1 suspended or disabled'),
                    'roles' => new external_multiple_structure(new external_single_structure($role)),
                ])),
            ])),
            'users' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'User id'),
                'username' => new external_value(PARAM_RAW, 'Username'),
                'idnumber' => new external_value(PARAM_RAW, 'User idnumber'),
                'email' => new external_value(PARAM_RAW, 'E-mail, "" without moodle/site:viewuseridentity'),
                'suspended' => new external_value(PARAM_INT, '1 suspended'),
            ]), 'The users enrolled in the courses of this page and the category role holders'),
            'total' => new external_value(PARAM_INT, 'Number of selected courses'),
        ]);
    }
}
