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
use local_mintqo\local\quiz_builder;

/**
 * Create a self-analysis quiz from Moodle XML: sections and grade items per dimension, never marked like a test.
 *
 * The questions of an existing quiz with the idnumber are never touched (its attempts are the programme's data);
 * its settings and review options are brought to the request's.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class import_quiz extends external_api {
    /** @var array Defaults of the settings parameter, applied when the caller leaves it out. */
    protected const DEFAULT_SETTINGS = ['attempts' => 0, 'grademethod' => 1, 'questionsperpage' => 0, 'visible' => 1,
        'timeopen' => 0, 'timeclose' => 0, 'completionexpected' => 0, 'completion' => 1];

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'Course id'),
            'section' => new external_value(PARAM_INT, 'Course section number'),
            'idnumber' => new external_value(PARAM_RAW, 'Course module idnumber of the quiz'),
            'name' => new external_value(PARAM_TEXT, 'Quiz name'),
            'intro' => new external_value(PARAM_RAW, 'Quiz description (HTML)', VALUE_DEFAULT, ''),
            'questionsxml' => new external_value(PARAM_RAW, 'Moodle XML with multichoice questions carrying idnumbers'),
            'sections' => new external_multiple_structure(new external_single_structure([
                'heading' => new external_value(PARAM_TEXT, 'Quiz section heading = grade item name'),
                'questionidnumbers' => new external_multiple_structure(
                    new external_value(PARAM_RAW, 'Question idnumber'),
                    'Questions of this section in order'
                ),
            ])),
            'settings' => new external_single_structure([
                'attempts' => new external_value(PARAM_INT, '0 = unlimited', VALUE_DEFAULT, 0),
                'grademethod' => new external_value(PARAM_INT, 'Quiz grading method', VALUE_DEFAULT, 1),
                'questionsperpage' => new external_value(PARAM_INT, '0 = one page per section', VALUE_DEFAULT, 0),
                'visible' => new external_value(PARAM_INT, '1 visible, 0 hidden', VALUE_DEFAULT, 1),
                'timeopen' => new external_value(PARAM_INT, 'Opens at, unix time (0 = always open)', VALUE_DEFAULT, 0),
                'timeclose' => new external_value(PARAM_INT, 'Closes at, unix time (0 = never)', VALUE_DEFAULT, 0),
                'completionexpected' => new external_value(
                    PARAM_INT,
                    'Expected completion date, unix time (0 = none)',
                    VALUE_DEFAULT,
                    0
                ),
                'completion' => new external_value(
                    PARAM_INT,
                    '1 = complete after one finished attempt, 0 = no completion tracking (an optional quiz)',
                    VALUE_DEFAULT,
                    1
                ),
            ], 'Quiz settings', VALUE_DEFAULT, []),
        ]);
    }

    /**
     * Create the quiz, or report the existing one unchanged.
     *
     * @param int $courseid
     * @param int $section
     * @param string $idnumber
     * @param string $name
     * @param string $intro
     * @param string $questionsxml
     * @param array $sections
     * @param array $settings
     * @return array
     */
    public static function execute(
        int $courseid,
        int $section,
        string $idnumber,
        string $name,
        string $intro,
        string $questionsxml,
        array $sections,
        array $settings = []
    ): array {
        $params = self::validate_parameters(self::execute_parameters(), [
            'courseid' => $courseid,
            'section' => $section,
            'idnumber' => $idnumber,
            'name' => $name,
            'intro' => $intro,
            'questionsxml' => $questionsxml,
            'sections' => $sections,
            'settings' => $settings,
        ]);
        $course = helper::get_course($params['courseid']);
        helper::require_course_access(
            $course,
            ['local/mintqo:provision', 'moodle/course:manageactivities', 'moodle/question:add']
        );

        $idnumber = trim((string)$params['idnumber']);
        if ($idnumber === '') {
            throw new \invalid_parameter_exception('idnumber is required');
        }
        if ((int)$params['section'] < 0) {
            throw helper::error('invalidsection', $params['section']);
        }
        $settings = array_merge(self::DEFAULT_SETTINGS, $params['settings']);
        foreach (['timeopen', 'timeclose', 'completionexpected', 'attempts', 'questionsperpage'] as $field) {
            if ((int)$settings[$field] < 0) {
                throw new \invalid_parameter_exception('settings: ' . $field . ' must not be negative');
            }
        }
        if (!in_array((int)$settings['completion'], [0, 1], true)) {
            throw new \invalid_parameter_exception('settings: completion must be 0 or 1');
        }
        if ($settings['timeopen'] && $settings['timeclose'] && $settings['timeclose'] <= $settings['timeopen']) {
            throw new \invalid_parameter_exception('settings: timeclose must be after timeopen');
        }
        $builder = new quiz_builder($course);
        $desired = $builder->desired_settings($params['name'], $params['intro'], $settings);

        $cm = helper::find_cm_by_idnumber($course->id, $idnumber);
        if ($cm) {
            if ($cm->modname !== 'quiz') {
                throw helper::error(
                    'activitytypemismatch',
                    ['idnumber' => $idnumber, 'existing' => $cm->modname, 'requested' => 'quiz']
                );
            }
            $current = $builder->current_settings($cm);
            $status = helper::STATUS_UNCHANGED;
            if ($current !== $desired) {
                helper::in_transaction(function () use ($builder, $cm, $desired, $current) {
                    $builder->update_quiz($cm, $desired, $current);
                });
                $status = helper::STATUS_UPDATED;
            }
            [$questions, $categoryid] = $builder->existing_questions((int)$cm->instance, (int)$cm->id);
            return [
                'cmid' => (int)$cm->id,
                'quizid' => (int)$cm->instance,
                'status' => $status,
                'questioncategoryid' => $categoryid,
                'questions' => $questions,
            ];
        }

        // Validate everything that can be checked before the first write.
        quiz_builder::validate_sections(quiz_builder::question_idnumbers($params['questionsxml']), $params['sections']);

        return helper::in_transaction(function () use ($builder, $course, $params, $idnumber, $settings, $desired) {
            course_create_sections_if_missing($course, range(0, (int)$params['section']));
            $context = $builder->question_bank_context();
            $questionids = $builder->provide_questions($context, $params['name'], $params['questionsxml']);

            $moduleinfo = $builder->create_quiz((int)$params['section'], $idnumber, $desired, $settings);
            $questions = $builder->build_structure(
                (int)$moduleinfo->instance,
                (int)$moduleinfo->coursemodule,
                array_values($params['sections']),
                $questionids,
                (int)$settings['questionsperpage']
            );

            return [
                'cmid' => (int)$moduleinfo->coursemodule,
                'quizid' => (int)$moduleinfo->instance,
                'status' => helper::STATUS_CREATED,
                'questioncategoryid' => $builder->question_category((int)$questions[0]['questionid']),
                'questions' => $questions,
            ];
        });
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'cmid' => new external_value(PARAM_INT, 'Course module id'),
            'quizid' => new external_value(PARAM_INT, 'Quiz id'),
            'status' => new external_value(PARAM_ALPHA, 'created, updated (settings) or unchanged'),
            'questioncategoryid' => new external_value(PARAM_INT, 'Question category holding the questions'),
            'questions' => new external_multiple_structure(new external_single_structure([
                'idnumber' => new external_value(PARAM_RAW, 'Question idnumber'),
                'questionid' => new external_value(PARAM_INT, 'Question id'),
                'slot' => new external_value(PARAM_INT, 'Quiz slot number'),
            ])),
        ]);
    }
}
