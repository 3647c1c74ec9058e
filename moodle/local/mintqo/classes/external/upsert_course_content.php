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
use local_mintqo\local\event_writer;
use local_mintqo\local\helper;
use local_mintqo\local\located_exception;
use local_mintqo\local\quiz_builder;
use local_mintqo\local\quiz_writer;
use local_mintqo\local\section_writer;
use stdClass;

/**
 * The whole content of many courses in one call: sections, activities, quizzes, completion criteria, events.
 *
 * Each course entry is what upsert_sections, upsert_activities, import_quiz and upsert_events do for one course, in
 * that order, with their logic (classes/local/*_writer). The whole call is one transaction: all or nothing. A course
 * may appear in several entries; they are applied in order, so a later entry finds what an earlier one created.
 * For a quiz module the module's visible wins over quiz.settings.visible.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class upsert_course_content extends external_api {
    /** @var string[] Module types of a course entry. */
    protected const MODULES = ['page', 'url', 'label', 'assign', 'quiz'];

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        $module = activity_writer::fields('page, url, label, assign or quiz') + [
            'teamquiz' => new external_value(
                PARAM_RAW,
                'url only: idnumber of a quiz of the course; the url then opens its team analysis (externalurl ignored)',
                VALUE_DEFAULT,
                ''
            ),
            'quiz' => new external_single_structure([
                'questionset' => new external_value(PARAM_ALPHANUMEXT, 'Key of a questionsets entry of this call'),
                'sections' => quiz_writer::sections_structure(),
                'settings' => quiz_writer::settings_structure(),
            ], 'Required for a quiz, forbidden otherwise; the module visible wins over settings.visible', VALUE_OPTIONAL),
        ];
        return new external_function_parameters([
            'questionsets' => new external_multiple_structure(new external_single_structure([
                'key' => new external_value(PARAM_ALPHANUMEXT, 'Name a quiz refers to, unique in the call'),
                'questionsxml' => new external_value(PARAM_RAW, 'Moodle XML with questions carrying idnumbers'),
            ]), 'Question sets the quizzes of this call use', VALUE_DEFAULT, []),
            'courses' => new external_multiple_structure(new external_single_structure([
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'sections' => new external_multiple_structure(section_writer::structure(), 'Sections', VALUE_DEFAULT, []),
                'modules' => new external_multiple_structure(
                    new external_single_structure($module),
                    'Modules in course order (new ones are appended to their section in this order)',
                    VALUE_DEFAULT,
                    []
                ),
                'completioncriteria' => activity_writer::criteria_structure(),
                'events' => new external_multiple_structure(event_writer::structure(), 'Course events', VALUE_DEFAULT, []),
            ])),
        ]);
    }

    /**
     * Check everything, then apply every course entry in order inside one transaction.
     *
     * @param array $questionsets
     * @param array $courses
     * @return array
     */
    public static function execute(array $questionsets, array $courses): array {
        global $CFG;
        require_once($CFG->dirroot . '/course/lib.php');

        $params = self::validate_parameters(
            self::execute_parameters(),
            ['questionsets' => $questionsets, 'courses' => $courses]
        );
        // One call may import many quizzes.
        \core_php_time_limit::raise();

        $xmls = self::question_sets($params['questionsets']);
        $entries = [];
        foreach ($params['courses'] as $index => $entry) {
            $where = self::where('courses', $index, 'course ' . $entry['courseid']);
            $entries[] = located_exception::at($where, fn() => self::check_entry($entry, $xmls));
        }

        return helper::in_transaction(function () use ($entries, $xmls) {
            $results = [];
            foreach ($entries as $index => [$course, $entry]) {
                $where = self::where('courses', $index, 'course ' . $course->id);
                $results[] = located_exception::at($where, fn() => self::apply_entry($course, $entry, $xmls));
            }
            return ['courses' => $results];
        }, array_map(fn($entry) => $entry[0]->id, $entries));
    }

    /**
     * Where an item is, for error messages: "courses[3] (course 57)".
     *
     * @param string $list parameter name
     * @param int $index position in the list
     * @param string $what what identifies the item
     * @return string
     */
    protected static function where(string $list, int $index, string $what): string {
        return $list . '[' . $index . '] (' . $what . ')';
    }

    /**
     * The question sets by key, each XML checked once.
     *
     * @param array $questionsets request items
     * @return array key => xml
     */
    protected static function question_sets(array $questionsets): array {
        $xmls = [];
        foreach ($questionsets as $index => $set) {
            located_exception::at(self::where('questionsets', $index, 'key ' . $set['key']), function () use ($set, $xmls) {
                if (isset($xmls[$set['key']])) {
                    throw new \invalid_parameter_exception('questionsets: key ' . $set['key'] . ' appears twice');
                }
                quiz_builder::question_idnumbers($set['questionsxml']);
            });
            $xmls[$set['key']] = $set['questionsxml'];
        }
        return $xmls;
    }

    /**
     * Load the course, require the capabilities its entry needs and check the entry; nothing is written.
     *
     * @param array $entry request course entry
     * @param array $xmls question sets by key
     * @return array [course record, entry with checked quiz settings]
     */
    protected static function check_entry(array $entry, array $xmls): array {
        $course = helper::get_course($entry['courseid']);
        $hasquiz = in_array('quiz', array_column($entry['modules'], 'modname'), true);
        $capabilities = ['local/mintqo:provision', 'moodle/course:update', 'moodle/course:manageactivities'];
        if ($hasquiz) {
            $capabilities[] = 'moodle/question:add';
        }
        if ($entry['events']) {
            event_writer::require_not_site($course);
            $capabilities[] = 'moodle/calendar:manageentries';
        }
        helper::require_course_access($course, $capabilities);

        $seen = [];
        foreach ($entry['sections'] as $index => $section) {
            located_exception::at('sections[' . $index . ']', function () use ($section, &$seen) {
                section_writer::validate($section, $seen);
            });
        }
        $seen = [];
        foreach ($entry['modules'] as $index => $module) {
            $where = self::where('modules', $index, 'idnumber ' . trim((string)$module['idnumber']));
            $entry['modules'][$index] = located_exception::at($where, function () use ($module, $xmls, &$seen) {
                return self::check_module($module, $xmls, $seen);
            });
        }
        $seen = [];
        foreach ($entry['events'] as $index => $event) {
            located_exception::at('events[' . $index . ']', function () use ($event, &$seen) {
                event_writer::validate($event, $seen);
            });
        }
        return [$course, $entry];
    }

    /**
     * Check one module; a quiz gets its settings with defaults, its visibility from the module.
     *
     * @param array $module request item
     * @param array $xmls question sets by key
     * @param array $seen idnumbers of the entry so far, updated
     * @return array the module
     */
    protected static function check_module(array $module, array $xmls, array &$seen): array {
        activity_writer::validate($module, self::MODULES, $seen);
        $isquiz = $module['modname'] === 'quiz';
        if ($isquiz !== isset($module['quiz'])) {
            throw helper::error($isquiz ? 'quizstructuremissing' : 'quizstructurenotallowed', $module['modname']);
        }
        if (trim((string)$module['teamquiz']) !== '' && $module['modname'] !== 'url') {
            throw new \invalid_parameter_exception('modules: teamquiz is only for a url module');
        }
        if ($isquiz) {
            if (!isset($xmls[$module['quiz']['questionset']])) {
                throw helper::error('unknownquestionset', $module['quiz']['questionset']);
            }
            $settings = ['visible' => (int)$module['visible']] + $module['quiz']['settings'];
            $module['quiz']['settings'] = quiz_writer::settings($settings);
        }
        return $module;
    }

    /**
     * Write one course entry: sections, modules in order, criteria, events.
     *
     * @param stdClass $course
     * @param array $entry checked entry
     * @param array $xmls question sets by key
     * @return array the entry's result
     */
    protected static function apply_entry(stdClass $course, array $entry, array $xmls): array {
        $result = [
            'courseid' => (int)$course->id,
            'sections' => $entry['sections'] ? section_writer::apply($course, $entry['sections']) : [],
            'modules' => [],
            'quizzes' => [],
        ];
        if ($entry['modules']) {
            course_create_sections_if_missing($course, range(0, max(array_column($entry['modules'], 'section'))));
            $manager = new activity_manager($course);
            foreach ($entry['modules'] as $index => $module) {
                $where = self::where('modules', $index, 'idnumber ' . trim((string)$module['idnumber']));
                [$row, $quiz] = located_exception::at($where, fn() => self::apply_module($manager, $course, $module, $xmls));
                $result['modules'][] = $row;
                if ($quiz) {
                    $result['quizzes'][] = $quiz;
                }
            }
        }
        $result['completioncriteria'] = located_exception::at(
            'completioncriteria',
            fn() => activity_writer::set_criteria($course, $entry['completioncriteria'])
        );
        $result['events'] = [];
        foreach ($entry['events'] as $index => $event) {
            $result['events'][] = located_exception::at('events[' . $index . ']', fn() => event_writer::upsert($course, $event));
        }
        return $result;
    }

    /**
     * Write one module.
     *
     * @param activity_manager $manager of the course
     * @param stdClass $course
     * @param array $module checked request item
     * @param array $xmls question sets by key
     * @return array [module result row, quiz result row or null]
     */
    protected static function apply_module(activity_manager $manager, stdClass $course, array $module, array $xmls): array {
        $idnumber = trim((string)$module['idnumber']);
        if ($module['modname'] !== 'quiz') {
            $teamquiz = trim((string)$module['teamquiz']);
            if ($teamquiz !== '') {
                $module['externalurl'] = self::team_url($course, $teamquiz);
            }
            return [activity_writer::upsert($manager, $course, $module), null];
        }
        $quiz = quiz_writer::upsert(
            $course,
            (int)$module['section'],
            $idnumber,
            $module['name'],
            $module['intro'],
            $xmls[$module['quiz']['questionset']],
            $module['quiz']['sections'],
            $module['quiz']['settings']
        );
        $row = [
            'idnumber' => $idnumber,
            'cmid' => $quiz['cmid'],
            'instanceid' => $quiz['quizid'],
            'modname' => 'quiz',
            'status' => $quiz['status'],
        ];
        return [$row, ['idnumber' => $idnumber] + $quiz];
    }

    /**
     * The link to the team analysis of a quiz of the course.
     *
     * @param stdClass $course
     * @param string $idnumber the quiz's idnumber
     * @return string absolute URL
     */
    protected static function team_url(stdClass $course, string $idnumber): string {
        $cm = helper::find_cm_by_idnumber($course->id, $idnumber);
        if (!$cm || $cm->modname !== 'quiz') {
            throw helper::error('unknownteamquiz', $idnumber);
        }
        return (new \moodle_url('/local/mintqo/team.php', ['id' => $cm->id]))->out(false);
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
                'sections' => new external_multiple_structure(section_writer::result_structure()),
                'modules' => new external_multiple_structure(activity_writer::result_structure()),
                'quizzes' => new external_multiple_structure(new external_single_structure(
                    ['idnumber' => new external_value(PARAM_RAW, 'Course module idnumber of the quiz')]
                        + quiz_writer::result_fields()
                )),
                'completioncriteria' => activity_writer::criteria_result_structure(),
                'events' => new external_multiple_structure(event_writer::result_structure()),
            ]), 'One per course entry, in request order'),
        ]);
    }
}
