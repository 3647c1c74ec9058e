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

use context_course;
use context_module;
use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use local_mintqo\local\cursor;
use local_mintqo\local\helper;

/**
 * Per-question answers of finished quiz attempts, one row per question attempt.
 *
 * Core's attempt review only has the chosen answer inside HTML; the statistics need the answer position. With a
 * cursor (1.3.0) pages hold whole attempts after the cursor's (timemodified, id) position, so an attempt finished
 * again or regraded later (a new timemodified) comes again; without one the 1.2 offset paging answers as before.
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
            'quizids' => new external_multiple_structure(
                new external_value(PARAM_INT, 'Quiz id'),
                'Quizzes to read',
                VALUE_DEFAULT,
                []
            ),
            'since' => new external_value(PARAM_INT, 'Only attempts with timemodified >= since', VALUE_DEFAULT, 0),
            'limitfrom' => new external_value(PARAM_INT, 'Rows to skip', VALUE_DEFAULT, 0),
            'limitnum' => new external_value(PARAM_INT, 'Rows to return, at most 5000', VALUE_DEFAULT, 1000),
            'cursor' => new external_value(
                PARAM_RAW,
                'Keyset cursor of a previous answer, "" from the beginning (or since); absent: offset paging',
                VALUE_DEFAULT,
                null,
                NULL_ALLOWED
            ),
            'courseids' => new external_multiple_structure(
                new external_value(PARAM_INT, 'Course id'),
                'Courses whose quizzes are read too (1.4.1)',
                VALUE_DEFAULT,
                []
            ),
        ]);
    }

    /**
     * Read the responses.
     *
     * @param array $quizids
     * @param int $since
     * @param int $limitfrom
     * @param int $limitnum
     * @param string|null $cursor
     * @param array $courseids
     * @return array
     */
    public static function execute(
        array $quizids = [],
        int $since = 0,
        int $limitfrom = 0,
        int $limitnum = 1000,
        ?string $cursor = null,
        array $courseids = []
    ): array {
        global $CFG, $DB;
        require_once($CFG->libdir . '/questionlib.php');

        $params = self::validate_parameters(self::execute_parameters(), [
            'quizids' => $quizids, 'since' => $since, 'limitfrom' => $limitfrom, 'limitnum' => $limitnum,
            'cursor' => $cursor, 'courseids' => $courseids,
        ]);
        helper::validate_paging($params['limitfrom'], $params['limitnum']);
        $cursor = $params['cursor'];
        if ($cursor !== null && $params['limitfrom'] > 0) {
            throw new \invalid_parameter_exception('limitfrom cannot be combined with a cursor');
        }
        $position = $cursor === null ? null : cursor::decode($cursor, 'q', 1, $params['since'])[0];
        $quizids = array_map('intval', $params['quizids']);
        array_push($quizids, ...self::course_quizzes(array_map('intval', $params['courseids'])));
        $quizids = array_values(array_unique($quizids));
        if (!$quizids) {
            return ['responses' => [], 'total' => 0, 'nextcursor' => (string)$cursor, 'hasmore' => false];
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
        $attempts = "qa.quiz {$insql} AND qa.state = :finished AND qa.preview = 0";
        $attemptparams = $inparams + ['finished' => 'finished'];
        if ($position === null) {
            $where = "{$attempts} AND qa.timemodified >= :since";
            $sqlparams = $attemptparams + ['since' => $params['since']];
            $total = self::count_rows($where, $sqlparams);
            $responses = self::rows($where, $sqlparams, $cmids, $params['limitfrom'], $params['limitnum']);
            return ['responses' => $responses, 'total' => $total, 'nextcursor' => '',
                'hasmore' => $params['limitfrom'] + $params['limitnum'] < $total];
        }

        // Keyset: whole attempts after the position, as many as fit into limitnum rows (at least one). An attempt's
        // time is its timemodified or, when later, its last regrade (a regrade leaves timemodified as it is).
        $regraded = "COALESCE((SELECT MAX(qor.timemodified) FROM {quiz_overview_regrades} qor
                                WHERE qor.questionusageid = qa.uniqueid AND qor.regraded = 1), 0)";
        $changed = "CASE WHEN {$regraded} > qa.timemodified THEN {$regraded} ELSE qa.timemodified END";
        [$after, $keyparams] = cursor::after_sql($changed, 'qa.id', $position, 'k');
        $where = "{$attempts} AND {$after}";
        $sqlparams = $attemptparams + $keyparams;
        $total = self::count_rows($where, $sqlparams);
        $candidates = $DB->get_records_sql(
            "SELECT qa.id, {$changed} AS timemodified
               FROM {quiz_attempts} qa
              WHERE {$where}
           ORDER BY {$changed}, qa.id",
            $sqlparams,
            0,
            $params['limitnum'] + 1
        );
        $byattempt = [];
        if ($candidates) {
            [$idsql, $idparams] = $DB->get_in_or_equal(array_keys($candidates), SQL_PARAMS_NAMED, 'attempt');
            foreach (self::rows("qa.id {$idsql}", $idparams, $cmids, 0, 0) as $row) {
                $byattempt[$row['attemptid']][] = $row;
            }
        }
        $responses = [];
        $taken = 0;
        foreach ($candidates as $attempt) {
            $rows = $byattempt[$attempt->id] ?? [];
            if ($taken && count($responses) + count($rows) > $params['limitnum']) {
                break;
            }
            array_push($responses, ...$rows);
            $taken++;
            $position = [(int)$attempt->timemodified, (int)$attempt->id];
        }
        return [
            'responses' => $responses,
            'total' => $total,
            'nextcursor' => $taken ? cursor::encode('q', [$position]) : $cursor,
            'hasmore' => $taken < count($candidates),
        ];
    }

    /**
     * Quiz ids of the given courses (a course id in a form field each, so many quizzes fit one request).
     *
     * Each course must exist and be accessible; the quizzes' own checks follow in execute().
     *
     * @param int[] $courseids
     * @return int[]
     */
    protected static function course_quizzes(array $courseids): array {
        global $DB;
        $courseids = array_values(array_unique($courseids));
        foreach ($courseids as $courseid) {
            $course = $DB->get_record('course', ['id' => $courseid], 'id', MUST_EXIST);
            self::validate_context(context_course::instance($course->id));
        }
        if (!$courseids) {
            return [];
        }
        [$insql, $inparams] = $DB->get_in_or_equal($courseids, SQL_PARAMS_NAMED, 'course');
        return array_map('intval', $DB->get_fieldset_select('quiz', 'id', "course {$insql}", $inparams));
    }

    /**
     * The FROM part: answered questions of the attempts $where selects (description items have no answer).
     *
     * @param string $where condition on qa (quiz_attempts)
     * @return string
     */
    protected static function from(string $where): string {
        return "FROM {quiz_attempts} qa
                JOIN {question_attempts} qat ON qat.questionusageid = qa.uniqueid
                JOIN {question} q ON q.id = qat.questionid
               WHERE q.qtype <> 'description'
                 AND {$where}";
    }

    /**
     * Number of response rows of the attempts $where selects.
     *
     * @param string $where
     * @param array $sqlparams
     * @return int
     */
    protected static function count_rows(string $where, array $sqlparams): int {
        global $DB;
        return (int)$DB->count_records_sql("SELECT COUNT(1) " . self::from($where), $sqlparams);
    }

    /**
     * Response rows of the attempts $where selects, in (timemodified, attempt id, slot) order.
     *
     * @param string $where
     * @param array $sqlparams
     * @param array $cmids quiz id => course module id
     * @param int $limitfrom
     * @param int $limitnum 0 = all
     * @return array
     */
    protected static function rows(string $where, array $sqlparams, array $cmids, int $limitfrom, int $limitnum): array {
        global $DB;
        $sql = "SELECT qat.id, qa.id AS attemptid, qa.quiz AS quizid, qa.userid, qa.attempt, qa.timestart,
                       qa.timefinish, qa.timemodified, qa.uniqueid, qat.slot, qat.questionid,
                       (SELECT qbe.idnumber
                          FROM {question_versions} qv
                          JOIN {question_bank_entries} qbe ON qbe.id = qv.questionbankentryid
                         WHERE qv.questionid = qat.questionid) AS questionidnumber
                " . self::from($where) . "
             ORDER BY qa.timemodified, qa.id, qat.slot";
        $rows = $DB->get_recordset_sql($sql, $sqlparams, $limitfrom, $limitnum);
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
        return $responses;
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
            'nextcursor' => new external_value(PARAM_RAW, 'Cursor for the next call ("" without a cursor)'),
            'hasmore' => new external_value(PARAM_BOOL, 'Whether another call would return more rows'),
        ]);
    }
}
