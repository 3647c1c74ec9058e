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

/**
 * Test data generator of local_mintqo: Moodle XML with self-analysis questions.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class local_mintqo_generator extends component_generator_base {
    /** @var string[] the three answers of the test scale, in their defined order */
    public const SCALE = ['trifft voll zu', 'trifft teilweise zu', 'trifft nicht zu'];

    /**
     * Moodle XML with one Likert multichoice question per idnumber, as the instrument compiles to.
     *
     * @param string[] $idnumbers
     * @return string
     */
    public function questions_xml(array $idnumbers): string {
        $fractions = [100, 50, 0];
        $xml = '<?xml version="1.0" encoding="UTF-8"?>' . "\n<quiz>\n";
        foreach ($idnumbers as $idnumber) {
            $xml .= '<question type="multichoice"><name><text>' . s($idnumber) . '</text></name>'
                . '<questiontext format="html"><text>Aussage ' . s($idnumber) . ' &amp; „Umlaute“ äöü</text></questiontext>'
                . '<generalfeedback format="html"><text></text></generalfeedback>'
                . '<defaultgrade>1</defaultgrade><penalty>0</penalty><hidden>0</hidden>'
                . '<idnumber>' . s($idnumber) . '</idnumber>'
                . '<single>true</single><shuffleanswers>false</shuffleanswers><answernumbering>none</answernumbering>';
            foreach (self::SCALE as $index => $answer) {
                $xml .= '<answer fraction="' . $fractions[$index] . '" format="html"><text>' . $answer . '</text></answer>';
            }
            $xml .= "</question>\n";
        }
        return $xml . "</quiz>\n";
    }

    /**
     * An attempt of the current user, answered per slot and (unless told otherwise) submitted.
     *
     * The caller sets the user first (setUser). Submitting differs by release: 5.x submits and grades in two
     * steps (process_submit, process_grade_submission), 4.4 in one (process_finish).
     *
     * @param int $quizid
     * @param int $userid
     * @param array|null $answers slot => answer text (null or '' leaves a slot unanswered); null answers every real
     *     question with $default
     * @param int|null $time submission time (default: now)
     * @param bool $finish false leaves the attempt in progress
     * @param string $default the answer text used when $answers is null
     * @return int attempt id
     */
    public function make_attempt(
        int $quizid,
        int $userid,
        ?array $answers,
        ?int $time = null,
        bool $finish = true,
        string $default = ''
    ): int {
        global $CFG;
        require_once($CFG->dirroot . '/mod/quiz/locallib.php');
        $time = $time ?? time();
        $quizobj = \mod_quiz\quiz_settings::create($quizid, $userid);
        $attempt = quiz_prepare_and_start_new_attempt($quizobj, 1, null, false, [], [], $userid);
        $attemptobj = \mod_quiz\quiz_attempt::create($attempt->id);
        if ($answers === null) {
            $answers = [];
            foreach ($attemptobj->get_slots() as $slot) {
                if ($attemptobj->is_real_question($slot)) {
                    $answers[$slot] = $default;
                }
            }
        }
        $responses = [];
        foreach (array_filter($answers, fn($text) => $text !== null && $text !== '') as $slot => $text) {
            $responses[$slot] = ['answer' => $text];
        }
        $attemptobj->process_submitted_actions($time, false, $responses);
        if ($finish) {
            if (method_exists($attemptobj, 'process_submit')) {
                $attemptobj->process_submit($time, false);
                $attemptobj->process_grade_submission($time);
            } else {
                $attemptobj->process_finish($time, false);
            }
        }
        return (int)$attempt->id;
    }

    /**
     * A self-analysis quiz made with local_mintqo_import_quiz (the current user needs its capabilities).
     *
     * @param int $courseid
     * @param string $idnumber quiz idnumber
     * @param array $sections heading => question idnumbers
     * @return array the function's answer
     */
    public function create_quiz(int $courseid, string $idnumber, array $sections): array {
        $requestsections = [];
        foreach ($sections as $heading => $idnumbers) {
            $requestsections[] = ['heading' => (string)$heading, 'questionidnumbers' => $idnumbers];
        }
        $all = array_merge(...array_values($sections));
        return \local_mintqo\external\import_quiz::execute(
            $courseid,
            1,
            $idnumber,
            'Selbstanalyse ' . $idnumber,
            '',
            $this->questions_xml($all),
            $requestsections,
            []
        );
    }
}
