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
 * Tests of local_mintqo_upsert_course_content: the content of many courses in one all-or-nothing call.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(upsert_course_content::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(\local_mintqo\local\located_exception::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(\local_mintqo\local\section_writer::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(\local_mintqo\local\activity_writer::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(\local_mintqo\local\quiz_writer::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(\local_mintqo\local\event_writer::class)]
final class upsert_course_content_test extends \advanced_testcase {
    /** @var string[] question idnumbers of the shared question set */
    protected const QUESTIONS = ['mintqo:t:ang-01', 'mintqo:t:ang-02', 'mintqo:t:org-01'];

    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param array $courses course entries
     * @param array|null $questionsets defaults to the shared set "sa"
     * @return array
     */
    protected function upsert(array $courses, ?array $questionsets = null): array {
        $questionsets = $questionsets ?? [['key' => 'sa', 'questionsxml' => $this->questions_xml()]];
        $result = upsert_course_content::execute($questionsets, $courses);
        return external_api::clean_returnvalue(upsert_course_content::execute_returns(), $result);
    }

    /**
     * The shared question set.
     *
     * @return string Moodle XML
     */
    protected function questions_xml(): string {
        return $this->getDataGenerator()->get_plugin_generator('local_mintqo')->questions_xml(self::QUESTIONS);
    }

    /**
     * A course's full content: two sections, quiz, url to its team analysis, page, assign, criteria, an event.
     *
     * @param int $courseid
     * @param string $pagename
     * @return array course entry
     */
    protected static function entry(int $courseid, string $pagename = 'Ablauf & Ziele'): array {
        return [
            'courseid' => $courseid,
            'sections' => [
                ['section' => 1, 'name' => 'Auftakt „Ü“', 'summary' => '<p>Willkommen</p>'],
                ['section' => 2, 'name' => 'Praxis'],
            ],
            'modules' => self::modules($pagename),
            'completioncriteria' => [['idnumber' => 'mintqo:t:page'], ['idnumber' => 'mintqo:t:assign']],
            'events' => [['idnumber' => 'mintqo:t:ws1', 'name' => 'Workshop 1', 'timestart' => 1767250800,
                'timeduration' => 7200, 'location' => 'Köln']],
        ];
    }

    /**
     * The modules of entry().
     *
     * @param string $pagename
     * @return array
     */
    protected static function modules(string $pagename = 'Ablauf & Ziele'): array {
        return [
            ['section' => 1, 'modname' => 'quiz', 'idnumber' => 'mintqo:t:quiz', 'name' => 'Selbstanalyse',
                'intro' => '<p>Bitte ausfüllen</p>', 'quiz' => [
                    'questionset' => 'sa',
                    'sections' => [
                        ['heading' => 'Angebot', 'questionidnumbers' => ['mintqo:t:ang-01', 'mintqo:t:ang-02']],
                        ['heading' => 'Organisation', 'questionidnumbers' => ['mintqo:t:org-01']],
                    ],
                    'settings' => [],
                ]],
            ['section' => 1, 'modname' => 'url', 'idnumber' => 'mintqo:t:team', 'name' => 'Team-Auswertung',
                'teamquiz' => 'mintqo:t:quiz', 'externalurl' => 'https://example.org/ignored'],
            ['section' => 1, 'modname' => 'page', 'idnumber' => 'mintqo:t:page', 'name' => $pagename,
                'content' => '<p>Inhalt</p>', 'completion' => 2, 'completionview' => 1],
            ['section' => 2, 'modname' => 'assign', 'idnumber' => 'mintqo:t:assign', 'name' => 'Maßnahmenplan',
                'completion' => 2, 'completionsubmit' => 1, 'duedate' => 1767225600],
        ];
    }

    /**
     * A course with completion and no sections beyond 0.
     *
     * @return \stdClass
     */
    protected function course(): \stdClass {
        return $this->getDataGenerator()->create_course(['enablecompletion' => 1, 'numsections' => 0]);
    }

    /**
     * Course modules of a course (what must not change on a refused call).
     *
     * @param int $courseid
     * @return array
     */
    protected function snapshot(int $courseid): array {
        global $DB;
        return [
            'sections' => $DB->count_records('course_sections', ['course' => $courseid]),
            'modules' => $DB->get_fieldset_sql('SELECT idnumber FROM {course_modules} WHERE course = ? ORDER BY id', [$courseid]),
            'events' => $DB->count_records('event', ['courseid' => $courseid]),
            'criteria' => $DB->count_records('course_completion_criteria', ['course' => $courseid]),
        ];
    }

    /**
     * Two courses in one call: everything created; the same call again changes nothing; a new name updates.
     */
    public function test_two_courses_created_then_unchanged_then_updated(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $first = $this->course();
        $second = $this->course();

        $result = $this->upsert([self::entry($first->id), self::entry($second->id)]);

        $this->assertCount(2, $result['courses']);
        foreach ([$first, $second] as $index => $course) {
            $answer = $result['courses'][$index];
            $this->assertSame((int)$course->id, $answer['courseid']);
            $this->assertSame(['created', 'created'], array_column($answer['sections'], 'status'));
            $this->assertSame(array_fill(0, 4, 'created'), array_column($answer['modules'], 'status'));
            $this->assertSame(['quiz', 'url', 'page', 'assign'], array_column($answer['modules'], 'modname'));
            $this->assertSame(['status' => 'created', 'count' => 2], $answer['completioncriteria']);
            $this->assertSame('created', $answer['events'][0]['status']);

            $this->assertCount(1, $answer['quizzes']);
            $quiz = $answer['quizzes'][0];
            $this->assertSame('mintqo:t:quiz', $quiz['idnumber']);
            $this->assertSame($answer['modules'][0]['cmid'], $quiz['cmid']);
            $this->assertSame($answer['modules'][0]['instanceid'], $quiz['quizid']);
            $this->assertSame(self::QUESTIONS, array_column($quiz['questions'], 'idnumber'));
            $this->assertSame([1, 2, 3], array_column($quiz['questions'], 'slot'));
            $this->assertEquals(2, $DB->count_records('quiz_sections', ['quizid' => $quiz['quizid']]));

            $url = $DB->get_field('url', 'externalurl', ['id' => $answer['modules'][1]['instanceid']]);
            $this->assertSame((new \moodle_url('/local/mintqo/team.php', ['id' => $quiz['cmid']]))->out(false), $url);

            // New modules are appended to their section in request order.
            $modinfo = get_fast_modinfo($course->id);
            $names = array_map(fn($cmid) => $modinfo->get_cm($cmid)->idnumber, $modinfo->get_sections()[1]);
            $this->assertSame(['mintqo:t:quiz', 'mintqo:t:team', 'mintqo:t:page'], array_values($names));
            $this->assertSame('Auftakt „Ü“', get_section_name($course->id, 1));
            $this->assertEquals(1, $DB->count_records('event', ['courseid' => $course->id, 'uuid' => 'mintqo:t:ws1']));
        }
        $this->assertNotEquals(
            $result['courses'][0]['quizzes'][0]['questioncategoryid'],
            $result['courses'][1]['quizzes'][0]['questioncategoryid']
        );

        $before = [$this->snapshot($first->id), $this->snapshot($second->id)];
        $again = $this->upsert([self::entry($first->id), self::entry($second->id)]);
        foreach ($again['courses'] as $index => $answer) {
            $this->assertSame(['unchanged', 'unchanged'], array_column($answer['sections'], 'status'));
            $this->assertSame(array_fill(0, 4, 'unchanged'), array_column($answer['modules'], 'status'));
            $this->assertSame(['unchanged'], array_column($answer['quizzes'], 'status'));
            $this->assertSame('unchanged', $answer['completioncriteria']['status']);
            $this->assertSame(['unchanged'], array_column($answer['events'], 'status'));
            $cmids = array_column($result['courses'][$index]['modules'], 'cmid');
            $this->assertSame($cmids, array_column($answer['modules'], 'cmid'));
            $quiz = $result['courses'][$index]['quizzes'][0];
            $this->assertSame(array_merge($quiz, ['status' => 'unchanged']), $answer['quizzes'][0]);
        }
        $this->assertSame($before, [$this->snapshot($first->id), $this->snapshot($second->id)]);

        $renamed = $this->upsert([self::entry($first->id, 'Ablauf (neu)')]);
        $this->assertSame(
            ['unchanged', 'unchanged', 'updated', 'unchanged'],
            array_column($renamed['courses'][0]['modules'], 'status')
        );
        $pageid = $result['courses'][0]['modules'][2]['instanceid'];
        $this->assertSame('Ablauf (neu)', $DB->get_field('page', 'name', ['id' => $pageid]));
    }

    /**
     * A course split over two entries: the second finds the quiz the first created; the module's visible wins.
     */
    public function test_course_split_over_two_entries(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->course();
        $entry = self::entry($course->id);
        [$quiz, $url, $page, $assign] = $entry['modules'];
        $quiz['visible'] = 0;
        $quiz['quiz']['settings'] = ['visible' => 1];
        $head = ['courseid' => $course->id, 'sections' => $entry['sections'], 'modules' => [$quiz, $page]];
        $tail = ['courseid' => $course->id, 'modules' => [$url, $assign],
            'completioncriteria' => $entry['completioncriteria'], 'events' => $entry['events']];

        $result = $this->upsert([$head, $tail]);

        $this->assertSame([(int)$course->id, (int)$course->id], array_column($result['courses'], 'courseid'));
        $this->assertSame(['mintqo:t:quiz', 'mintqo:t:page'], array_column($result['courses'][0]['modules'], 'idnumber'));
        $this->assertSame(['mintqo:t:team', 'mintqo:t:assign'], array_column($result['courses'][1]['modules'], 'idnumber'));
        $this->assertSame([], $result['courses'][1]['sections']);
        $this->assertSame(['status' => 'unchanged', 'count' => 0], $result['courses'][0]['completioncriteria']);
        $this->assertSame(['status' => 'created', 'count' => 2], $result['courses'][1]['completioncriteria']);
        $modinfo = get_fast_modinfo($course->id);
        $this->assertFalse((bool)$modinfo->get_cm($result['courses'][0]['quizzes'][0]['cmid'])->visible);
        $this->assertStringEndsWith(
            '/local/mintqo/team.php?id=' . $result['courses'][0]['quizzes'][0]['cmid'],
            $DB->get_field('url', 'externalurl', ['id' => $result['courses'][1]['modules'][0]['instanceid']])
        );

        // The whole content in one entry afterwards: nothing to do, the quiz stays hidden.
        $entry['modules'][0] = $quiz;
        $again = $this->upsert([$entry]);
        $this->assertSame(array_fill(0, 4, 'unchanged'), array_column($again['courses'][0]['modules'], 'status'));
    }

    /**
     * A failure in the second course entry leaves the first course as it was: the call is all or nothing.
     */
    public function test_all_or_nothing(): void {
        $this->resetAfterTest();
        // The test itself must not run inside a transaction, or the function's rollback could not be seen.
        $this->preventResetByRollback();
        $this->setAdminUser();
        $first = $this->course();
        $second = $this->course();
        $bad = self::entry($second->id);
        $bad['modules'][1]['teamquiz'] = 'mintqo:t:missing';
        $before = $this->snapshot($first->id);

        try {
            $this->upsert([self::entry($first->id), $bad]);
            $this->fail('unknownteamquiz expected');
        } catch (\moodle_exception $e) {
            $this->assertSame('unknownteamquiz', $e->errorcode);
            $this->assertStringStartsWith(
                'courses[1] (course ' . $second->id . '): modules[1] (idnumber mintqo:t:team): ',
                $e->getMessage()
            );
        }
        $this->assertSame($before, $this->snapshot($first->id));
        $this->assertSame([], $this->snapshot($second->id)['modules']);
    }

    /**
     * Every refused request names the course entry and the item; nothing is written.
     */
    public function test_validation_errors_name_where(): void {
        $this->resetAfterTest();
        // The test itself must not run inside a transaction, or the function's rollback could not be seen.
        $this->preventResetByRollback();
        $this->setAdminUser();
        $good = $this->course();
        $course = $this->course();
        $prefix = 'courses[1] (course ' . $course->id . '): ';
        $entry = self::entry($course->id);
        $page = $entry['modules'][2];
        $quiz = $entry['modules'][0];
        $where = fn($index, $module) => $prefix . 'modules[' . $index . '] (idnumber ' . $module['idnumber'] . '): ';

        $unknownset = $quiz;
        $unknownset['quiz']['questionset'] = 'other';
        $nostructure = $quiz;
        unset($nostructure['quiz']);
        $pagewithquiz = $page + ['quiz' => $quiz['quiz']];
        $teamonpage = $page + ['teamquiz' => 'mintqo:t:quiz'];
        $teamtopage = $entry['modules'][1];
        $teamtopage['teamquiz'] = 'mintqo:t:page';
        $badsettings = $quiz;
        $badsettings['quiz']['settings'] = ['timeopen' => 20, 'timeclose' => 10];
        $cases = [
            'unknown question set' => [['modules' => [$unknownset]], 'unknownquestionset', $where(0, $quiz)],
            'quiz without structure' => [['modules' => [$nostructure]], 'quizstructuremissing', $where(0, $quiz)],
            'structure on a page' => [['modules' => [$pagewithquiz]], 'quizstructurenotallowed', $where(0, $page)],
            'duplicate idnumber' => [['modules' => [$page, $page]], 'invalidparameter', $where(1, $page)],
            'teamquiz on a page' => [['modules' => [$teamonpage]], 'invalidparameter', $where(0, $page)],
            'teamquiz naming a page' => [['modules' => [$page, $teamtopage]], 'unknownteamquiz', $where(1, $teamtopage)],
            'quiz settings' => [['modules' => [$badsettings]], 'invalidparameter', $where(0, $quiz)],
            'unsupported type' => [['modules' => [['modname' => 'forum'] + $page]], 'unsupportedmodule', $where(0, $page)],
            'section 0' => [['sections' => [['section' => 0, 'name' => 'X']]], 'invalidsection', $prefix . 'sections[0]: '],
            'event' => [['events' => [['timestart' => 0] + $entry['events'][0]]], 'invalidparameter', $prefix . 'events[0]: '],
            'criterion' => [['modules' => [$page], 'completioncriteria' => [['idnumber' => 'mintqo:t:nothing']]],
                'invalidcompletioncriteria', $prefix . 'completioncriteria: '],
        ];
        foreach ($cases as $name => [$content, $errorcode, $expectedprefix]) {
            try {
                $this->upsert([self::entry($good->id), ['courseid' => $course->id] + $content]);
                $this->fail("{$name}: {$errorcode} expected");
            } catch (\moodle_exception $e) {
                $this->assertSame($errorcode, $e->errorcode, $name . ': ' . $e->getMessage());
                $this->assertStringStartsWith($expectedprefix, $e->getMessage(), $name);
            }
            $this->assertSame([], $this->snapshot($good->id)['modules'], $name);
            $this->assertSame([], $this->snapshot($course->id)['modules'], $name);
        }

        $sets = [['key' => 'sa', 'questionsxml' => $this->questions_xml()], ['key' => 'sa', 'questionsxml' => '<quiz/>']];
        try {
            $this->upsert([self::entry($good->id)], $sets);
            $this->fail('duplicate question set key expected');
        } catch (\moodle_exception $e) {
            $this->assertSame('invalidparameter', $e->errorcode);
            $this->assertStringStartsWith('questionsets[1] (key sa): ', $e->getMessage());
        }
        $this->assertSame([], $this->snapshot($good->id)['modules']);
    }

    /**
     * Without the capabilities in one course, nothing is written in any course of the call.
     */
    public function test_capability_denied_for_one_course_writes_nothing(): void {
        $this->resetAfterTest();
        // The test itself must not run inside a transaction, or the function's rollback could not be seen.
        $this->preventResetByRollback();
        $allowed = $this->course();
        $denied = $this->course();
        $user = $this->getDataGenerator()->create_user();
        $this->getDataGenerator()->enrol_user($user->id, $allowed->id, 'manager');
        $this->getDataGenerator()->enrol_user($user->id, $denied->id, 'editingteacher');
        $this->setUser($user);
        $before = $this->snapshot($allowed->id);

        try {
            $deniedentry = ['courseid' => $denied->id, 'sections' => [['section' => 1, 'name' => 'X']]];
            $this->upsert([self::entry($allowed->id), $deniedentry]);
            $this->fail('nopermissions expected');
        } catch (\moodle_exception $e) {
            $this->assertSame('nopermissions', $e->errorcode);
            $this->assertStringStartsWith('courses[1] (course ' . $denied->id . '): ', $e->getMessage());
        }
        $this->assertSame($before, $this->snapshot($allowed->id));

        // The manager of the first course alone may write it.
        $result = $this->upsert([self::entry($allowed->id)]);
        $this->assertSame(array_fill(0, 4, 'created'), array_column($result['courses'][0]['modules'], 'status'));
    }

    /**
     * Through the web service layer: a quiz module needs its structure; the answer is Moodle's error shape.
     *
     * The location is in the exception's message, which the REST server sends; call_external_function() rebuilds the
     * message from the error code, so here only the code is checked (the recordings show the REST answer).
     */
    public function test_call_through_the_external_api(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $_POST['sesskey'] = sesskey();
        $course = $this->course();
        $module = self::modules()[0];
        unset($module['quiz']);

        $response = external_api::call_external_function('local_mintqo_upsert_course_content', [
            'courses' => [['courseid' => $course->id, 'modules' => [$module]]],
        ]);

        $this->assertTrue($response['error']);
        $this->assertSame('quizstructuremissing', $response['exception']->errorcode);
        $this->assertSame('local_mintqo', $response['exception']->module ?? 'local_mintqo');
    }
}
