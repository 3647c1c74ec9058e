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
use stdClass;

/**
 * Course defaults Moodle makes in English: the announcements forum's name and intro, the enrolment welcome message.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class configure_courses extends external_api {
    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courses' => new external_multiple_structure(new external_single_structure([
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'newsforumname' => new external_value(PARAM_TEXT, 'Name of the course\'s announcements forum'),
                'newsforumintro' => new external_value(
                    PARAM_RAW,
                    'Description of the announcements forum (HTML); left as it is when not given',
                    VALUE_OPTIONAL
                ),
                'sendwelcomemessage' => new external_value(
                    PARAM_INT,
                    '1: the manual enrolment sends Moodle\'s course welcome message, 0: it sends none'
                ),
                'lockenrolments' => new external_value(
                    PARAM_INT,
                    '1: editing teachers cannot unenrol anyone (themselves included), 0: Moodle\'s default',
                    VALUE_DEFAULT,
                    0
                ),
            ])),
        ]);
    }

    /**
     * Configure the courses in one transaction.
     *
     * @param array $courses
     * @return array
     */
    public static function execute(array $courses): array {
        global $CFG;
        require_once($CFG->dirroot . '/mod/forum/lib.php');
        require_once($CFG->dirroot . '/course/lib.php');

        $params = self::validate_parameters(self::execute_parameters(), ['courses' => $courses]);
        $seen = [];
        $records = [];
        foreach ($params['courses'] as $index => $item) {
            $courseid = (int)$item['courseid'];
            if (isset($seen[$courseid])) {
                throw new \invalid_parameter_exception('courses: course ' . $courseid . ' appears twice');
            }
            $seen[$courseid] = true;
            $name = trim((string)$item['newsforumname']);
            if ($name === '' || \core_text::strlen($name) > 255) {
                throw new \invalid_parameter_exception('courses: newsforumname must have 1 to 255 characters');
            }
            if (!in_array((int)$item['sendwelcomemessage'], [0, 1], true)) {
                throw new \invalid_parameter_exception('courses: sendwelcomemessage must be 0 or 1');
            }
            if (!in_array((int)$item['lockenrolments'], [0, 1], true)) {
                throw new \invalid_parameter_exception('courses: lockenrolments must be 0 or 1');
            }
            $course = helper::get_course($courseid);
            if ((int)$course->id === (int)SITEID) {
                throw new \invalid_parameter_exception('courses: the site course cannot be configured');
            }
            helper::require_course_access($course, ['local/mintqo:provision', 'moodle/course:update']);
            $records[$index] = $course;
        }

        return helper::in_transaction(function () use ($params, $records) {
            $results = [];
            foreach ($params['courses'] as $index => $item) {
                $course = $records[$index];
                $forumchanged = self::configure_news_forum(
                    $course,
                    trim((string)$item['newsforumname']),
                    array_key_exists('newsforumintro', $item) ? $item['newsforumintro'] : null
                );
                $welcomechanged = self::configure_welcome_message($course, (bool)$item['sendwelcomemessage']);
                $lockchanged = self::configure_enrolment_lock($course, (bool)$item['lockenrolments']);
                $changed = $forumchanged || $welcomechanged || $lockchanged;
                $results[] = [
                    'courseid' => (int)$course->id,
                    'status' => $changed ? helper::STATUS_UPDATED : helper::STATUS_UNCHANGED,
                ];
            }
            return ['courses' => $results];
        });
    }

    /**
     * Name (and describe) Moodle's own announcements forum of the course; Moodle creates it when it is missing.
     *
     * @param stdClass $course
     * @param string $name
     * @param string|null $intro null: leave the description as it is
     * @return bool whether anything changed
     */
    protected static function configure_news_forum(stdClass $course, string $name, ?string $intro): bool {
        global $DB;
        $existed = $DB->record_exists('forum', ['course' => $course->id, 'type' => 'news']);
        $forum = forum_get_course_forum($course->id, 'news');
        if (!$forum) {
            throw new \moodle_exception('cannotcreateinstanceforteacher', 'forum');
        }
        $changes = [];
        if ((string)$forum->name !== $name) {
            $changes['name'] = $name;
        }
        if ($intro !== null && (string)$forum->intro !== $intro) {
            $changes['intro'] = $intro;
            $changes['introformat'] = FORMAT_HTML;
        }
        if (!$changes) {
            return !$existed;
        }
        $DB->update_record('forum', (object)(['id' => $forum->id, 'timemodified' => time()] + $changes));
        rebuild_course_cache($course->id, true);
        $cm = get_coursemodule_from_instance('forum', $forum->id, $course->id, false, MUST_EXIST);
        \core\event\course_module_updated::create_from_cm($cm)->trigger();
        return true;
    }

    /**
     * Switch the course welcome message of the course's manual enrolment on or off.
     *
     * Moodle 4.5 and later keep it in the instance's customint1 (ENROL_DO_NOT_SEND_EMAIL or who sends it); "on"
     * keeps whichever sender is set and chooses the course contact when it was off. Releases whose manual
     * enrolment sends no welcome message (4.4) have nothing to switch.
     *
     * @param stdClass $course
     * @param bool $send
     * @return bool whether anything changed
     */
    protected static function configure_welcome_message(stdClass $course, bool $send): bool {
        global $DB;
        $plugin = enrol_get_plugin('manual');
        if (!$plugin || !method_exists($plugin, 'send_course_welcome_message_to_user')) {
            return false;
        }
        $instances = $DB->get_records('enrol', ['courseid' => $course->id, 'enrol' => 'manual'], 'id ASC');
        $changed = false;
        foreach ($instances as $instance) {
            $current = (int)$instance->customint1;
            $wanted = $send ? ($current ?: ENROL_SEND_EMAIL_FROM_COURSE_CONTACT) : ENROL_DO_NOT_SEND_EMAIL;
            if ($current !== $wanted) {
                $plugin->update_instance($instance, (object)['customint1' => $wanted]);
                $changed = true;
            }
            // Manual enrolment keeps a single instance per course (update_instance() removes the others).
            break;
        }
        return $changed;
    }

    /**
     * Lock or unlock the course's enrolments against editing teachers.
     *
     * A coordinator is the editing teacher of their regional course; Moodle lets that role unenrol anyone, themselves
     * included (the bin icon beside their own enrolment). Enrolments follow the programme's roster, changed only
     * by the office (`mintqo-lms people remove`), so a locked course prevents enrol/manual:unenrol for the role.
     *
     * @param stdClass $course
     * @param bool $lock
     * @return bool whether anything changed
     */
    protected static function configure_enrolment_lock(stdClass $course, bool $lock): bool {
        global $DB;
        $roleid = $DB->get_field('role', 'id', ['shortname' => 'editingteacher']);
        if (!$roleid) {
            return false;
        }
        $context = \context_course::instance($course->id);
        $current = $DB->get_field('role_capabilities', 'permission', [
            'roleid' => $roleid, 'contextid' => $context->id, 'capability' => 'enrol/manual:unenrol']);
        if ($lock && (int)$current !== CAP_PREVENT) {
            role_change_permission($roleid, $context, 'enrol/manual:unenrol', CAP_PREVENT);
            return true;
        }
        if (!$lock && $current !== false) {
            role_change_permission($roleid, $context, 'enrol/manual:unenrol', CAP_INHERIT);
            return true;
        }
        return false;
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'courses' => new external_multiple_structure(new external_single_structure([
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'status' => new external_value(PARAM_ALPHA, 'updated or unchanged'),
            ])),
        ]);
    }
}
