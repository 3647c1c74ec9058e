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
