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
use core_external\external_single_structure;
use core_external\external_value;
use local_mintqo\local\helper;
use local_mintqo\local\quiz_writer;

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
            'sections' => quiz_writer::sections_structure(),
            'settings' => quiz_writer::settings_structure(),
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
        $settings = quiz_writer::settings($params['settings']);
        return helper::in_transaction(fn() => quiz_writer::upsert(
            $course,
            (int)$params['section'],
            $idnumber,
            $params['name'],
            $params['intro'],
            $params['questionsxml'],
            $params['sections'],
            $settings
        ), [$course->id]);
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure(quiz_writer::result_fields());
    }
}
