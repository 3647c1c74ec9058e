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
use local_mintqo\local\helper;

/**
 * Tests of local_mintqo_import_quiz: quiz, sections, grade items, question bank and reuse by idnumber.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(import_quiz::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(\local_mintqo\local\quiz_builder::class)]
final class import_quiz_test extends \advanced_testcase {
    /**
     * Moodle XML with one Likert multichoice question per idnumber.
     *
     * @param string[] $idnumbers
     * @return string
     */
    protected function questions_xml(array $idnumbers): string {
        return $this->getDataGenerator()->get_plugin_generator('local_mintqo')->questions_xml($idnumbers);
    }

    /**
     * Call the function as the web service layer does, with the parameters of a two-section quiz.
     *
     * @param int $courseid
     * @param string $idnumber quiz idnumber
     * @param array $sections heading => question idnumbers
     * @param string|null $xml defaults to the questions of $sections
     * @return array cleaned return value
     */
    protected function import(int $courseid, string $idnumber, array $sections, ?string $xml = null): array {
        $all = array_merge(...array_values($sections));
        $requestsections = [];
        foreach ($sections as $heading => $idnumbers) {
            $requestsections[] = ['heading' => $heading, 'questionidnumbers' => $idnumbers];
        }
        $result = import_quiz::execute(
            $courseid,
            1,
            $idnumber,
            'Selbstanalyse ' . $idnumber,
            '<p>Es gibt keine richtigen oder falschen Antworten.</p>',
            $xml ?? $this->questions_xml($all),
            $requestsections,
            ['attempts' => 1]
        );
        return external_api::clean_returnvalue(import_quiz::execute_returns(), $result);
    }

    /**
     * The moodle_exception a call raises, asserted by error code.
     *
     * @param string $errorcode
     * @param callable $call
     * @return \moodle_exception
     */
    protected function assert_error(string $errorcode, callable $call): \moodle_exception {
        try {
            $call();
        } catch (\moodle_exception $e) {
            $this->assertSame($errorcode, $e->errorcode, $e->getMessage());
            return $e;
        }
        $this->fail("expected error {$errorcode}");
    }

    /**
     * Number of question bank entries with mintqo test idnumbers.
     *
     * @return int
     */
    protected function count_entries(): int {
        global $DB;
        return $DB->count_records_select('question_bank_entries', $DB->sql_like('idnumber', ':p'), ['p' => 'mintqo:t:%']);
    }

    /**
     * A new quiz: sections, slots, grade items, questions in the course's question bank, completion on submission.
     */
    public function test_creates_quiz_with_sections_and_questions_in_the_course_bank(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);

        $result = $this->import($course->id, 'mintqo:quiz:a', [
            'Angebot' => ['mintqo:t:ang-01', 'mintqo:t:ang-02'],
            'Qualität' => ['mintqo:t:qua-01'],
        ]);

        $this->assertSame(helper::STATUS_CREATED, $result['status']);
        $idnumbers = array_column($result['questions'], 'idnumber');
        $this->assertSame(['mintqo:t:ang-01', 'mintqo:t:ang-02', 'mintqo:t:qua-01'], $idnumbers);
        $this->assertSame([1, 2, 3], array_column($result['questions'], 'slot'));
        $cm = get_coursemodule_from_id('quiz', $result['cmid'], $course->id, false, MUST_EXIST);
        $this->assertSame('mintqo:quiz:a', $cm->idnumber);
        $this->assertEquals($result['quizid'], $cm->instance);
        $this->assertEquals(COMPLETION_TRACKING_AUTOMATIC, $cm->completion);

        $headings = $DB->get_records_menu('quiz_sections', ['quizid' => $result['quizid']], 'firstslot', 'firstslot, heading');
        $this->assertSame([1 => 'Angebot', 3 => 'Qualität'], $headings);
        if ($DB->get_manager()->table_exists('quiz_grade_items')) {
            $items = $DB->get_records_menu('quiz_grade_items', ['quizid' => $result['quizid']], 'sortorder', 'id, name');
            $this->assertSame(['Angebot', 'Qualität'], array_values($items));
        }
        $this->assertEquals(3, $DB->get_field('quiz', 'sumgrades', ['id' => $result['quizid']]));

        // The questions live in the course's bank: the course context (4.4/4.5), the system mod_qbank (5.0+).
        $category = $DB->get_record('question_categories', ['id' => $result['questioncategoryid']], '*', MUST_EXIST);
        $context = \context::instance_by_id($category->contextid);
        if (helper::is_moodle5()) {
            $this->assertEquals(CONTEXT_MODULE, $context->contextlevel);
            $bank = get_coursemodule_from_id('qbank', $context->instanceid, $course->id, false, MUST_EXIST);
            $this->assertSame('system', $DB->get_field('qbank', 'type', ['id' => $bank->instance]));
        } else {
            $this->assertEquals(\context_course::instance($course->id)->id, $context->id);
        }
        $this->assertSame('Selbstanalyse mintqo:quiz:a', $category->name);
        $this->assertSame(3, $this->count_entries());
    }

    /**
     * Calling again with the same quiz idnumber changes nothing and answers with the same questions.
     */
    public function test_same_idnumber_again_is_unchanged(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $sections = ['Angebot' => ['mintqo:t:ang-01', 'mintqo:t:ang-02']];

        $first = $this->import($course->id, 'mintqo:quiz:a', $sections);
        $second = $this->import($course->id, 'mintqo:quiz:a', $sections);

        $this->assertSame(helper::STATUS_UNCHANGED, $second['status']);
        $this->assertSame($first['cmid'], $second['cmid']);
        $this->assertSame($first['quizid'], $second['quizid']);
        $this->assertSame($first['questions'], $second['questions']);
        $this->assertSame($first['questioncategoryid'], $second['questioncategoryid']);
        $this->assertSame(1, $DB->count_records('quiz', ['course' => $course->id]));
        $this->assertSame(2, $this->count_entries());
    }

    /**
     * A second quiz of the course with the same question idnumbers reuses the bank's questions.
     */
    public function test_second_quiz_reuses_questions_by_idnumber(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $sections = ['Angebot' => ['mintqo:t:ang-01', 'mintqo:t:ang-02']];
        $first = $this->import($course->id, 'mintqo:quiz:a', $sections);
        $bankcontextid = $DB->get_field('question_categories', 'contextid', ['id' => $first['questioncategoryid']]);
        $categories = $DB->count_records('question_categories', ['contextid' => $bankcontextid]);

        $second = $this->import($course->id, 'mintqo:quiz:b', $sections);

        $this->assertSame(helper::STATUS_CREATED, $second['status']);
        $this->assertNotEquals($first['quizid'], $second['quizid']);
        $this->assertSame(array_column($first['questions'], 'questionid'), array_column($second['questions'], 'questionid'));
        $this->assertSame($first['questioncategoryid'], $second['questioncategoryid']);
        $this->assertSame(2, $this->count_entries(), 'nothing imported twice');
        // No empty category is left behind in the bank (5.x also gives each quiz its own bank: not ours).
        $this->assertSame($categories, $DB->count_records('question_categories', ['contextid' => $bankcontextid]));
    }

    /**
     * A quiz deleted and published again finds its questions; only new idnumbers are imported.
     */
    public function test_republish_imports_only_new_idnumbers(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $first = $this->import($course->id, 'mintqo:quiz:a', ['Angebot' => ['mintqo:t:ang-01', 'mintqo:t:ang-02']]);
        course_delete_module($first['cmid']);

        $again = $this->import($course->id, 'mintqo:quiz:a', [
            'Angebot' => ['mintqo:t:ang-01', 'mintqo:t:ang-02'],
            'Qualität' => ['mintqo:t:qua-01'],
        ]);

        $this->assertSame(helper::STATUS_CREATED, $again['status']);
        $this->assertNotEquals($first['cmid'], $again['cmid']);
        $byidnumber = array_column($again['questions'], 'questionid', 'idnumber');
        $this->assertSame(array_column($first['questions'], 'questionid', 'idnumber'), array_slice($byidnumber, 0, 2, true));
        $this->assertSame(3, $this->count_entries());
    }

    /**
     * Questions are reused within a course only: another course gets its own.
     */
    public function test_questions_are_not_shared_between_courses(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $sections = ['Angebot' => ['mintqo:t:ang-01']];
        $one = $this->import($this->getDataGenerator()->create_course()->id, 'mintqo:quiz:a', $sections);
        $two = $this->import($this->getDataGenerator()->create_course()->id, 'mintqo:quiz:a', $sections);

        $this->assertNotEquals($one['questions'][0]['questionid'], $two['questions'][0]['questionid']);
        $this->assertSame(2, $this->count_entries());
    }

    /**
     * The generator's questions with a description item (a criterion's title) before each section's statements.
     *
     * @param array $sections heading => question idnumbers
     * @return array [xml, request sections]
     */
    protected function with_descriptions(array $sections): array {
        $xml = $this->questions_xml(array_merge(...array_values($sections)));
        $requestsections = [];
        $descriptions = '';
        foreach ($sections as $heading => $idnumbers) {
            $key = 'mintqo:t:kriterium-' . count($requestsections);
            $descriptions .= '<question type="description"><name><text>' . s($heading) . '</text></name>'
                . '<questiontext format="html"><text><![CDATA[<h4>' . s($heading) . '</h4><p>Worum es geht.</p>]]></text>'
                . '</questiontext><generalfeedback format="html"><text></text></generalfeedback>'
                . '<defaultgrade>0</defaultgrade><penalty>0</penalty><hidden>0</hidden>'
                . '<idnumber>' . $key . "</idnumber></question>\n";
            $requestsections[] = ['heading' => $heading, 'questionidnumbers' => array_merge([$key], $idnumbers)];
        }
        return [str_replace('</quiz>', $descriptions . '</quiz>', $xml), $requestsections];
    }

    /**
     * A finished attempt of a user who chooses the first answer everywhere.
     *
     * @param int $quizid
     * @param \stdClass $user
     * @return \mod_quiz\quiz_attempt
     */
    protected function attempt(int $quizid, \stdClass $user): \mod_quiz\quiz_attempt {
        $this->setUser($user);
        $generator = $this->getDataGenerator()->get_plugin_generator('local_mintqo');
        $attemptid = $generator->make_attempt($quizid, $user->id, null, null, true, \local_mintqo_generator::SCALE[1]);
        return \mod_quiz\quiz_attempt::create($attemptid);
    }

    /**
     * A self-analysis is not an exam: the attempt is reviewable, correctness, marks, feedback and the right answer
     * never are; maximum grade 0 and a grade item of type none; complete after one finished attempt without a grade;
     * description items carry the criterion titles.
     */
    public function test_self_analysis_is_not_an_exam(): void {
        global $DB, $CFG, $PAGE;
        require_once($CFG->libdir . '/gradelib.php');
        $this->resetAfterTest();
        // Quiz completion is updated by an observer that runs after the commit; no outer test transaction.
        $this->preventResetByRollback();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);
        $student = $this->getDataGenerator()->create_and_enrol($course, 'student');
        [$xml, $sections] = $this->with_descriptions([
            'Angebot' => ['mintqo:t:ang-01', 'mintqo:t:ang-02'],
            'Qualität' => ['mintqo:t:qua-01'],
        ]);
        $open = usergetmidnight(time()) - DAYSECS;
        $settings = ['timeopen' => $open, 'timeclose' => $open + 30 * DAYSECS, 'completionexpected' => $open + 20 * DAYSECS];

        $answer = import_quiz::execute(
            $course->id,
            1,
            'mintqo:quiz:sa',
            'Selbstanalyse',
            '<p>Keine richtigen oder falschen Antworten.</p>',
            $xml,
            $sections,
            $settings
        );
        $result = external_api::clean_returnvalue(import_quiz::execute_returns(), $answer);

        $this->assertSame(
            ['mintqo:t:kriterium-0', 'mintqo:t:ang-01', 'mintqo:t:ang-02', 'mintqo:t:kriterium-1', 'mintqo:t:qua-01'],
            array_column($result['questions'], 'idnumber')
        );
        $quiz = $DB->get_record('quiz', ['id' => $result['quizid']], '*', MUST_EXIST);
        $this->assertEquals(0x11110, $quiz->reviewattempt);
        $never = ['correctness', 'maxmarks', 'marks', 'specificfeedback', 'generalfeedback', 'rightanswer', 'overallfeedback'];
        foreach ($never as $field) {
            $this->assertEquals(0, $quiz->{'review' . $field}, $field);
        }
        $this->assertEquals(0, $quiz->grade);
        $this->assertEquals(3, $quiz->sumgrades, 'description items carry no mark');
        $this->assertEquals($settings['timeopen'], $quiz->timeopen);
        $this->assertEquals($settings['timeclose'], $quiz->timeclose);
        $this->assertEquals(1, $quiz->completionminattempts);
        $cm = $DB->get_record('course_modules', ['id' => $result['cmid']], '*', MUST_EXIST);
        $this->assertNull($cm->completiongradeitemnumber, 'completion does not depend on a grade');
        $this->assertEquals($settings['completionexpected'], $cm->completionexpected);
        // Moodle makes no grade item for a quiz of maximum grade 0 (or one of type "none"): nothing to count.
        $gradeitems = \grade_item::fetch_all(['courseid' => $course->id, 'itemtype' => 'mod', 'itemmodule' => 'quiz',
            'iteminstance' => $quiz->id]) ?: [];
        foreach ($gradeitems as $gradeitem) {
            $this->assertEquals(GRADE_TYPE_NONE, $gradeitem->gradetype, 'never counts in a course total');
        }
        $descriptionslot = $DB->get_record('quiz_slots', ['quizid' => $quiz->id, 'slot' => 1], '*', MUST_EXIST);
        $this->assertEquals(0, $descriptionslot->maxmark);
        if (property_exists($descriptionslot, 'quizgradeitemid')) {
            $this->assertNull($descriptionslot->quizgradeitemid);
        }

        // The participant's finished attempt: their answers, no exam language, complete without a grade.
        $attemptobj = $this->attempt($quiz->id, $student);
        $this->assertTrue($attemptobj->is_finished());
        $PAGE->set_url('/mod/quiz/review.php', ['attempt' => $attemptobj->get_attemptid()]);
        $options = $attemptobj->get_display_options(true);
        $this->assertEquals(\question_display_options::VISIBLE, $options->responses ?? \question_display_options::VISIBLE);
        $this->assertEquals(\question_display_options::HIDDEN, $options->correctness);
        $this->assertEquals(\question_display_options::HIDDEN, $options->marks);
        $this->assertEquals(\question_display_options::HIDDEN, $options->rightanswer);
        $html = '';
        foreach ($attemptobj->get_slots() as $slot) {
            $html .= $attemptobj->render_question($slot, true, $PAGE->get_renderer('mod_quiz'));
        }
        $text = html_to_text($html, 0, false);
        $this->assertStringContainsStringIgnoringCase('Angebot', $text, 'the criterion title is shown');
        $this->assertStringContainsString(\local_mintqo_generator::SCALE[1], $text, 'the participant sees their answers');
        foreach (['correct', 'Mark', 'out of', 'Grade', 'feedback'] as $word) {
            $this->assertStringNotContainsStringIgnoringCase($word, $text, "review shows \"{$word}\"");
        }
        $this->setAdminUser();
        $completion = new \completion_info($course);
        $cminfo = get_fast_modinfo($course->id)->get_cm($result['cmid']);
        $this->assertEquals(COMPLETION_COMPLETE, $completion->get_data($cminfo, false, $student->id)->completionstate);
        foreach ($gradeitems as $gradeitem) {
            $this->assertFalse($DB->record_exists_select(
                'grade_grades',
                'itemid = ? AND finalgrade > 0',
                [$gradeitem->id]
            ), 'no grade in the gradebook');
        }
        $coursetotal = \grade_item::fetch_course_item($course->id);
        $this->assertEmpty($coursetotal->grademax > 0 ? $DB->get_records_select(
            'grade_grades',
            'itemid = ? AND finalgrade > 0',
            [$coursetotal->id]
        ) : [], 'the course total holds no quiz grade');
    }

    /**
     * A re-import brings settings and review options of an existing quiz (here: one made before 1.2.0, graded and
     * with Moodle's default review options) to the request's, keeps its questions, and is unchanged the next time.
     */
    public function test_reimport_applies_settings(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);
        $sections = ['Angebot' => ['mintqo:t:ang-01', 'mintqo:t:ang-02']];
        $first = $this->import($course->id, 'mintqo:quiz:old', $sections);
        $quizid = $first['quizid'];
        // What plugin 1.1.0 made: grade 10, Moodle's default review options, completion on a grade.
        \mod_quiz\quiz_settings::create($quizid)->get_grade_calculator()->update_quiz_maximum_grade(10);
        $DB->update_record('quiz', (object)['id' => $quizid, 'reviewcorrectness' => 0x11110, 'reviewmarks' => 0x11110,
            'reviewrightanswer' => 0x11110, 'completionminattempts' => 0]);
        $DB->set_field('course_modules', 'completiongradeitemnumber', 0, ['id' => $first['cmid']]);
        rebuild_course_cache($course->id, true);

        $second = $this->import($course->id, 'mintqo:quiz:old', $sections);

        $this->assertSame(helper::STATUS_UPDATED, $second['status']);
        $this->assertSame($first['questions'], $second['questions']);
        $quiz = $DB->get_record('quiz', ['id' => $quizid], '*', MUST_EXIST);
        $this->assertEquals(0, $quiz->grade);
        $this->assertEquals(0, $quiz->reviewcorrectness);
        $this->assertEquals(0, $quiz->reviewmarks);
        $this->assertEquals(0, $quiz->reviewrightanswer);
        $this->assertEquals(1, $quiz->completionminattempts);
        $this->assertNull($DB->get_field('course_modules', 'completiongradeitemnumber', ['id' => $first['cmid']]));

        $third = $this->import($course->id, 'mintqo:quiz:old', $sections);
        $this->assertSame(helper::STATUS_UNCHANGED, $third['status']);

        // A new closing date is applied too.
        $all = array_merge(...array_values($sections));
        $moved = import_quiz::execute(
            $course->id,
            1,
            'mintqo:quiz:old',
            'Selbstanalyse mintqo:quiz:old',
            '<p>Es gibt keine richtigen oder falschen Antworten.</p>',
            $this->questions_xml($all),
            [['heading' => 'Angebot', 'questionidnumbers' => $all]],
            ['attempts' => 1, 'timeclose' => time() + WEEKSECS]
        );
        $this->assertSame(helper::STATUS_UPDATED, $moved['status']);
        $this->assertGreaterThan(time(), $DB->get_field('quiz', 'timeclose', ['id' => $quizid]));
    }

    /**
     * An optional quiz (settings completion = 0) has no completion tracking, and switching it on again works.
     */
    public function test_optional_quiz_has_no_completion_tracking(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);
        $all = ['mintqo:t:opt-01', 'mintqo:t:opt-02'];
        $call = fn(int $completion) => external_api::clean_returnvalue(import_quiz::execute_returns(), import_quiz::execute(
            $course->id,
            1,
            'mintqo:quiz:optional',
            'Zweite Selbstanalyse (freiwillig)',
            '',
            $this->questions_xml($all),
            [['heading' => 'Angebot', 'questionidnumbers' => $all]],
            ['attempts' => 1, 'completion' => $completion]
        ));
        $first = $call(0);
        $this->assertEquals(COMPLETION_TRACKING_NONE, $DB->get_field('course_modules', 'completion', ['id' => $first['cmid']]));
        $this->assertSame(helper::STATUS_UNCHANGED, $call(0)['status']);
        $this->assertSame(helper::STATUS_UPDATED, $call(1)['status']);
        $this->assertEquals(
            COMPLETION_TRACKING_AUTOMATIC,
            $DB->get_field('course_modules', 'completion', ['id' => $first['cmid']])
        );
        $this->assert_error('invalidparameter', fn() => $call(2));
    }

    /**
     * An editing teacher without local/mintqo:provision cannot import.
     */
    public function test_requires_provision_capability(): void {
        $this->resetAfterTest();
        $course = $this->getDataGenerator()->create_course();
        $teacher = $this->getDataGenerator()->create_and_enrol($course, 'editingteacher');
        $this->setUser($teacher);

        $this->expectException(\required_capability_exception::class);
        $this->import($course->id, 'mintqo:quiz:a', ['Angebot' => ['mintqo:t:ang-01']]);
    }

    /**
     * A missing course is Moodle's missing-record error.
     */
    public function test_missing_course(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $this->expectException(\dml_missing_record_exception::class);
        $this->import(987654, 'mintqo:quiz:a', ['Angebot' => ['mintqo:t:ang-01']]);
    }

    /**
     * Sections and XML must name the same questions exactly once; nothing is written on a mistake.
     */
    public function test_bad_sections_and_xml(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $xml = $this->questions_xml(['mintqo:t:ang-01', 'mintqo:t:ang-02']);
        $twice = $this->questions_xml(['mintqo:t:ang-01', 'mintqo:t:ang-01']);
        $cases = [
            // Error code, sections, XML.
            ['unknownquestionidnumber', ['A' => ['mintqo:t:ang-01', 'mintqo:t:nope']], $xml],
            ['unknownquestionidnumber', ['A' => ['mintqo:t:ang-01']], $xml],
            ['duplicatequestionidnumber', ['A' => ['mintqo:t:ang-01'], 'B' => ['mintqo:t:ang-01', 'mintqo:t:ang-02']], $xml],
            ['duplicatequestionidnumber', ['A' => ['mintqo:t:ang-01']], $twice],
            ['questionimportfailed', ['A' => ['mintqo:t:ang-01']], '<quiz><question type="multichoice">'],
            ['invalidsection', ['A' => []], $xml],
        ];
        foreach ($cases as [$errorcode, $sections, $questionsxml]) {
            $this->assert_error($errorcode, fn() => $this->import($course->id, 'mintqo:quiz:a', $sections, $questionsxml));
        }

        $this->assertSame(0, $DB->count_records('quiz', ['course' => $course->id]));
        $this->assertSame(0, $this->count_entries());
    }

    /**
     * The importer's own rejection rolls back the whole call: no quiz, no category, no question.
     */
    public function test_importer_rejection_rolls_back(): void {
        global $DB;
        $this->resetAfterTest();
        // The test itself must not run inside a transaction, or the function's rollback could not be seen.
        $this->preventResetByRollback();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $categories = $DB->count_records('question_categories');
        // Well-formed, but a grade of 42 % matches none of Moodle's grades: the importer refuses it.
        $xml = str_replace('fraction="50"', 'fraction="42"', $this->questions_xml(['mintqo:t:ang-01']));

        $e = $this->assert_error('questionimportfailed', fn() => $this->import(
            $course->id,
            'mintqo:quiz:a',
            ['A' => ['mintqo:t:ang-01']],
            $xml
        ));

        $this->assertSame('local_mintqo', $e->module);
        $this->assertSame(0, $DB->count_records('quiz', ['course' => $course->id]));
        $this->assertSame(0, $this->count_entries());
        $this->assertLessThanOrEqual($categories + (helper::is_moodle5() ? 1 : 0), $DB->count_records('question_categories'));
    }

    /**
     * An idnumber that belongs to another activity type is refused; bad parameter types never reach the code.
     */
    public function test_type_mismatch_and_parameter_validation(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $this->getDataGenerator()->create_module('page', ['course' => $course->id, 'idnumber' => 'mintqo:quiz:a']);

        $this->assert_error('activitytypemismatch', fn() => $this->import(
            $course->id,
            'mintqo:quiz:a',
            ['A' => ['mintqo:t:ang-01']]
        ));
        $this->assert_error('invalidparameter', fn() => $this->import(
            $course->id,
            '  ',
            ['A' => ['mintqo:t:ang-01']]
        ));

        $_POST['sesskey'] = sesskey();
        $response = external_api::call_external_function('local_mintqo_import_quiz', [
            'courseid' => 'not a number', 'section' => 1, 'idnumber' => 'x', 'name' => 'x',
            'questionsxml' => '<quiz/>', 'sections' => [],
        ]);
        $this->assertTrue($response['error']);
        $this->assertSame('invalidparameter', $response['exception']->errorcode);
    }

    /**
     * Through the web-service layer: the function is declared, its answer matches execute_returns().
     */
    public function test_call_through_the_external_api(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $_POST['sesskey'] = sesskey();
        $course = $this->getDataGenerator()->create_course();

        $response = external_api::call_external_function('local_mintqo_import_quiz', [
            'courseid' => $course->id, 'section' => 2, 'idnumber' => 'mintqo:quiz:a', 'name' => 'Selbstanalyse',
            'questionsxml' => $this->questions_xml(['mintqo:t:ang-01']),
            'sections' => [['heading' => 'Angebot', 'questionidnumbers' => ['mintqo:t:ang-01']]],
        ]);

        $this->assertFalse($response['error'], json_encode($response['exception'] ?? null));
        $this->assertSame('created', $response['data']['status']);
        $cm = get_fast_modinfo($course->id)->get_cm($response['data']['cmid']);
        $this->assertEquals(2, $cm->sectionnum);
    }
}
