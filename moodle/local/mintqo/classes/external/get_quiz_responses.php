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

use context_module;
use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use local_mintqo\local\helper;

/**
 * Per-question answers of finished quiz attempts, one row per question attempt.
 *
 * Core's attempt review only has the chosen answer inside HTML; the statistics need the answer position.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_quiz_responses extends external_api {
    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'quizids' => new external_multiple_structure(new external_value(PARAM_INT, 'Quiz id')),
            'since' => new external_value(PARAM_INT, 'Only attempts with timemodified >= since', VALUE_DEFAULT, 0),
            'limitfrom' => new external_value(PARAM_INT, 'Rows to skip', VALUE_DEFAULT, 0),
            'limitnum' => new external_value(PARAM_INT, 'Rows to return, at most 5000', VALUE_DEFAULT, 1000),
        ]);
    }

    /**
     * Read the responses.
     *
     * @param array $quizids
     * @param int $since
     * @param int $limitfrom
     * @param int $limitnum
     * @return array
     */
    public static function execute(array $quizids, int $since = 0, int $limitfrom = 0, int $limitnum = 1000): array {
        global $CFG, $DB;
        require_once($CFG->libdir . '/questionlib.php');

        $params = self::validate_parameters(self::execute_parameters(), [
            'quizids' => $quizids, 'since' => $since, 'limitfrom' => $limitfrom, 'limitnum' => $limitnum,
        ]);
        helper::validate_paging($params['limitfrom'], $params['limitnum']);
        $quizids = array_values(array_unique(array_map('intval', $params['quizids'])));
        if (!$quizids) {
            return ['responses' => [], 'total' => 0];
        }

        $cmids = [];
        foreach ($quizids as $quizid) {
            $quiz = $DB->get_record('quiz', ['id' => $quizid], 'id, course', MUST_EXIST);
            $cm = get_coursemodule_from_instance('quiz', $quiz->id, $quiz->course, false, MUST_EXIST);
            $context = context_module::instance($cm->id);
            self::validate_context($context);
            require_capability('mod/quiz:viewreports', $context);
            $cmids[$quiz->id] = (int)$cm->id;
        }

        [$insql, $inparams] = $DB->get_in_or_equal($quizids, SQL_PARAMS_NAMED, 'quiz');
        // Description items (criterion titles) have no answer: they are not responses.
        $from = "FROM {quiz_attempts} qa
                 JOIN {question_attempts} qat ON qat.questionusageid = qa.uniqueid
                 JOIN {question} q ON q.id = qat.questionid
                WHERE qa.quiz {$insql}
                  AND q.qtype <> 'description'
                  AND qa.state = :finished
                  AND qa.preview = 0
                  AND qa.timemodified >= :since";
        $sqlparams = $inparams + ['finished' => 'finished', 'since' => $params['since']];

        $total = $DB->count_records_sql("SELECT COUNT(1) {$from}", $sqlparams);
        $sql = "SELECT qa.id AS attemptid, qa.quiz AS quizid, qa.userid, qa.attempt, qa.timestart, qa.timefinish,
                       qa.timemodified, qa.uniqueid, qat.slot, qat.questionid,
                       (SELECT qbe.idnumber
                          FROM {question_versions} qv
                          JOIN {question_bank_entries} qbe ON qbe.id = qv.questionbankentryid
                         WHERE qv.questionid = qat.questionid) AS questionidnumber
                {$from}
             ORDER BY qa.timemodified, qa.id, qat.slot";
        $rows = $DB->get_recordset_sql($sql, $sqlparams, $params['limitfrom'], $params['limitnum']);

        $responses = [];
        $usages = [];
        foreach ($rows as $row) {
            if (!isset($usages[$row->uniqueid])) {
                $usages[$row->uniqueid] = \question_engine::load_questions_usage_by_activity($row->uniqueid);
            }
            [$answertext, $answerposition, $fraction] = self::answer($usages[$row->uniqueid], (int)$row->slot);
            $responses[] = [
                'attemptid' => (int)$row->attemptid,
                'quizid' => (int)$row->quizid,
                'cmid' => $cmids[$row->quizid],
                'userid' => (int)$row->userid,
                'attempt' => (int)$row->attempt,
                'timestart' => (int)$row->timestart,
                'timefinish' => (int)$row->timefinish,
                'timemodified' => (int)$row->timemodified,
                'slot' => (int)$row->slot,
                'questionid' => (int)$row->questionid,
                'questionidnumber' => (string)$row->questionidnumber,
                'answertext' => $answertext,
                'answerposition' => $answerposition,
                'fraction' => $fraction,
            ];
        }
        $rows->close();
        return ['responses' => $responses, 'total' => (int)$total];
    }

    /**
     * Chosen answer of one slot: text, 1-based position in the answers as defined, fraction.
     *
     * The position is counted in the question's own answer order (not the shuffled display order), so a
     * Likert scale maps to the same number for everybody.
     *
     * @param \question_usage_by_activity $quba
     * @param int $slot
     * @return array [string answertext, int answerposition, float|null fraction]
     */
    protected static function answer(\question_usage_by_activity $quba, int $slot): array {
        $qa = $quba->get_question_attempt($slot);
        $text = (string)($qa->get_response_summary() ?? '');
        $fraction = $qa->get_fraction();
        $fraction = $fraction === null ? null : (float)$fraction;

        $position = 0;
        $question = $qa->get_question(false);
        if ($question instanceof \qtype_multichoice_single_question) {
            $choice = $qa->get_last_qt_var('answer');
            $order = $question->get_order($qa);
            if ($choice !== null && $choice !== '' && (int)$choice >= 0 && isset($order[(int)$choice])) {
                $index = array_search($order[(int)$choice], array_keys($question->answers));
                $position = $index === false ? 0 : $index + 1;
            }
        }
        return [$text, $position, $fraction];
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'responses' => new external_multiple_structure(new external_single_structure([
                'attemptid' => new external_value(PARAM_INT, 'Quiz attempt id'),
                'quizid' => new external_value(PARAM_INT, 'Quiz id'),
                'cmid' => new external_value(PARAM_INT, 'Course module id'),
                'userid' => new external_value(PARAM_INT, 'User id'),
                'attempt' => new external_value(PARAM_INT, 'Attempt number of the user'),
                'timestart' => new external_value(PARAM_INT, 'Attempt start'),
                'timefinish' => new external_value(PARAM_INT, 'Attempt submission'),
                'timemodified' => new external_value(PARAM_INT, 'Attempt last change'),
                'slot' => new external_value(PARAM_INT, 'Quiz slot'),
                'questionid' => new external_value(PARAM_INT, 'Question id (version) answered'),
                'questionidnumber' => new external_value(PARAM_RAW, 'Question bank entry idnumber'),
                'answertext' => new external_value(PARAM_RAW, 'Response summary (plain text)'),
                'answerposition' => new external_value(PARAM_INT, '1-based position of the chosen answer, 0 none'),
                'fraction' => new external_value(
                    PARAM_FLOAT,
                    'Fraction awarded, null if not graded',
                    VALUE_REQUIRED,
                    null,
                    NULL_ALLOWED
                ),
            ])),
            'total' => new external_value(PARAM_INT, 'Number of matching rows'),
        ]);
    }
}
