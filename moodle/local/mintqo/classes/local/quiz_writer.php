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
 * A self-analysis quiz by idnumber: created from Moodle XML, or an existing one's settings brought to the request.
 *
 * The questions of an existing quiz are never touched (its attempts are the programme's data). Shared by import_quiz
 * and upsert_course_content; the caller holds the transaction.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class quiz_writer {
    /** @var array Defaults of the settings parameter, applied when the caller leaves it out. */
    protected const DEFAULT_SETTINGS = ['attempts' => 0, 'grademethod' => 1, 'questionsperpage' => 0, 'visible' => 1,
        'timeopen' => 0, 'timeclose' => 0, 'completionexpected' => 0, 'completion' => 1];

    /**
     * The request structure of the quiz sections.
     *
     * @return external_multiple_structure
     */
    public static function sections_structure(): external_multiple_structure {
        return new external_multiple_structure(new external_single_structure([
            'heading' => new external_value(PARAM_TEXT, 'Quiz section heading = grade item name'),
            'questionidnumbers' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'Question idnumber'),
                'Questions of this section in order'
            ),
        ]));
    }

    /**
     * The request structure of the quiz settings.
     *
     * @return external_single_structure
     */
    public static function settings_structure(): external_single_structure {
        return new external_single_structure([
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
        ], 'Quiz settings', VALUE_DEFAULT, []);
    }

    /**
     * The answer fields of one quiz.
     *
     * @return external_value[]|external_multiple_structure[]
     */
    public static function result_fields(): array {
        return [
            'cmid' => new external_value(PARAM_INT, 'Course module id'),
            'quizid' => new external_value(PARAM_INT, 'Quiz id'),
            'status' => new external_value(PARAM_ALPHA, 'created, updated (settings) or unchanged'),
            'questioncategoryid' => new external_value(PARAM_INT, 'Question category holding the questions'),
            'questions' => new external_multiple_structure(new external_single_structure([
                'idnumber' => new external_value(PARAM_RAW, 'Question idnumber'),
                'questionid' => new external_value(PARAM_INT, 'Question id'),
                'slot' => new external_value(PARAM_INT, 'Quiz slot number'),
            ])),
        ];
    }

    /**
     * The requested settings with defaults, checked.
     *
     * @param array $requested validated settings parameter (may be empty)
     * @return array
     */
    public static function settings(array $requested): array {
        $settings = array_merge(self::DEFAULT_SETTINGS, $requested);
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
        return $settings;
    }

    /**
     * Create the quiz, or bring an existing one's settings to the request.
     *
     * @param stdClass $course
     * @param int $section course section number, checked
     * @param string $idnumber trimmed, not empty
     * @param string $name
     * @param string $intro
     * @param string $xml Moodle XML of the questions
     * @param array $sections quiz sections (heading, questionidnumbers)
     * @param array $settings from settings()
     * @return array {cmid, quizid, status, questioncategoryid, questions}
     */
    public static function upsert(
        stdClass $course,
        int $section,
        string $idnumber,
        string $name,
        string $intro,
        string $xml,
        array $sections,
        array $settings
    ): array {
        global $CFG;
        require_once($CFG->dirroot . '/course/lib.php');
        $builder = new quiz_builder($course);
        $desired = $builder->desired_settings($name, $intro, $settings);

        $cm = activity_writer::find_cm($course, $idnumber, 'quiz');
        if ($cm) {
            $current = $builder->current_settings($cm);
            $status = helper::STATUS_UNCHANGED;
            if ($current !== $desired) {
                $builder->update_quiz($cm, $desired, $current);
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
        quiz_builder::validate_sections(quiz_builder::question_idnumbers($xml), $sections);
        course_create_sections_if_missing($course, range(0, $section));
        $context = $builder->question_bank_context();
        $questionids = $builder->provide_questions($context, $name, $xml);

        $moduleinfo = $builder->create_quiz($section, $idnumber, $desired, $settings);
        $questions = $builder->build_structure(
            (int)$moduleinfo->instance,
            (int)$moduleinfo->coursemodule,
            array_values($sections),
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
    }
}
