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

/**
 * Tests of local_mintqo_get_quiz_responses: finished attempts answer by answer, paged, by time.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(get_quiz_responses::class)]
final class get_quiz_responses_test extends \advanced_testcase {
    /** @var string[] question idnumbers of the test quiz */
    protected const IDNUMBERS = ['mintqo:t:ang-01', 'mintqo:t:ang-02', 'mintqo:t:qua-01'];

    /**
     * A course with a self-analysis quiz made by import_quiz (as admin) and an enrolled student.
     *
     * @return array [course, quiz result of import_quiz, student]
     */
    protected function setup_quiz(): array {
        global $CFG;
        require_once($CFG->dirroot . '/mod/quiz/locallib.php');
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);
        $result = $this->getDataGenerator()->get_plugin_generator('local_mintqo')->create_quiz($course->id, 'mintqo:quiz:a', [
            'Angebot' => array_slice(self::IDNUMBERS, 0, 2),
            'Qualität' => array_slice(self::IDNUMBERS, 2),
        ]);
        $student = $this->getDataGenerator()->create_and_enrol($course, 'student');
        return [$course, $result, $student];
    }

    /**
     * A finished attempt by a user with the given answer texts per slot (null: no answer).
     *
     * @param int $quizid
     * @param \stdClass $user
     * @param array $answers slot => answer text or null
     * @param int $time
     * @param bool $finish false leaves the attempt in progress
     * @return int attempt id
     */
    protected function attempt(int $quizid, \stdClass $user, array $answers, int $time, bool $finish = true): int {
        $this->setUser($user);
        $generator = $this->getDataGenerator()->get_plugin_generator('local_mintqo');
        $attemptid = $generator->make_attempt($quizid, $user->id, $answers, $time, $finish);
        $this->setAdminUser();
        return $attemptid;
    }

    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param array $quizids
     * @param int $since
     * @param int $limitfrom
     * @param int $limitnum
     * @param string|null $cursor
     * @param array $courseids
     * @return array
     */
    protected function responses(
        array $quizids,
        int $since = 0,
        int $limitfrom = 0,
        int $limitnum = 1000,
        ?string $cursor = null,
        array $courseids = []
    ): array {
        $result = get_quiz_responses::execute($quizids, $since, $limitfrom, $limitnum, $cursor, $courseids);
        return external_api::clean_returnvalue(get_quiz_responses::execute_returns(), $result);
    }

    /**
     * One row per question of a finished attempt: idnumber, chosen answer and its position as defined.
     */
    public function test_finished_attempt_answer_by_answer(): void {
        $this->resetAfterTest();
        [$course, $quiz, $student] = $this->setup_quiz();
        $time = time();
        $attemptid = $this->attempt($quiz['quizid'], $student, [1 => 'trifft teilweise zu', 2 => 'trifft nicht zu'], $time);
        $other = $this->getDataGenerator()->create_and_enrol($course, 'student');
        $this->attempt($quiz['quizid'], $other, [1 => 'trifft voll zu'], $time, false);

        $result = $this->responses([$quiz['quizid']]);

        $this->assertSame(3, $result['total'], 'the unfinished attempt is not reported');
        $rows = $result['responses'];
        $this->assertSame([1, 2, 3], array_column($rows, 'slot'));
        $this->assertSame(self::IDNUMBERS, array_column($rows, 'questionidnumber'));
        $this->assertSame([2, 3, 0], array_column($rows, 'answerposition'));
        $this->assertSame('trifft teilweise zu', $rows[0]['answertext']);
        $this->assertEqualsWithDelta(0.5, $rows[0]['fraction'], 0.0001);
        $this->assertNull($rows[2]['fraction']);
        foreach ($rows as $row) {
            $this->assertSame($attemptid, $row['attemptid']);
            $this->assertSame((int)$student->id, $row['userid']);
            $this->assertSame($quiz['cmid'], $row['cmid']);
            $this->assertSame($quiz['quizid'], $row['quizid']);
            $this->assertSame($time, $row['timefinish']);
        }
        $this->assertSame(array_column($quiz['questions'], 'questionid'), array_column($rows, 'questionid'));
    }

    /**
     * Paging with limitfrom/limitnum and the inclusive since cursor; reading twice gives the same rows.
     */
    public function test_paging_and_since(): void {
        $this->resetAfterTest();
        [, $quiz, $student] = $this->setup_quiz();
        $time = time();
        $this->attempt($quiz['quizid'], $student, [1 => 'trifft voll zu'], $time);

        $page = $this->responses([$quiz['quizid']], 0, 1, 1);
        $this->assertSame(3, $page['total']);
        $this->assertSame([2], array_column($page['responses'], 'slot'));
        $this->assertSame($page, $this->responses([$quiz['quizid']], 0, 1, 1));

        $this->assertSame(3, $this->responses([$quiz['quizid']], $time)['total'], 'since is inclusive');
        $none = ['responses' => [], 'total' => 0, 'nextcursor' => '', 'hasmore' => false];
        $this->assertSame($none, $this->responses([$quiz['quizid']], $time + 1));
        $this->assertSame($none, $this->responses([]));
    }

    /**
     * A student (no mod/quiz:viewreports) cannot read the answers.
     */
    public function test_requires_viewreports(): void {
        $this->resetAfterTest();
        [, $quiz, $student] = $this->setup_quiz();
        $this->setUser($student);

        $this->expectException(\required_capability_exception::class);
        $this->responses([$quiz['quizid']]);
    }

    /**
     * Bad paging values and a missing quiz are refused.
     */
    public function test_bad_parameters(): void {
        $this->resetAfterTest();
        [, $quiz] = $this->setup_quiz();

        foreach ([[-1, 10], [0, 0], [0, 5001]] as [$limitfrom, $limitnum]) {
            try {
                $this->responses([$quiz['quizid']], 0, $limitfrom, $limitnum);
                $this->fail('invalid paging accepted');
            } catch (\invalid_parameter_exception $e) {
                $this->assertSame('invalidparameter', $e->errorcode);
            }
        }
        $_POST['sesskey'] = sesskey();
        $response = external_api::call_external_function('local_mintqo_get_quiz_responses', ['quizids' => ['abc']]);
        $this->assertTrue($response['error']);
        $this->assertSame('invalidparameter', $response['exception']->errorcode);

        $this->expectException(\dml_missing_record_exception::class);
        $this->responses([987654]);
    }

    /**
     * Keyset pages hold whole attempts (three rows each; four rows per page = one attempt), in (time, id) order;
     * an attempt finished again later comes again, a young one waits for the settle time.
     */
    public function test_cursor_pages_whole_attempts(): void {
        global $DB;
        $this->resetAfterTest();
        [$course, $quiz, $student] = $this->setup_quiz();
        $time = time() - 100;
        $attempts = [$this->attempt($quiz['quizid'], $student, [1 => 'trifft voll zu'], $time)];
        foreach ([1, 2] as $i) {
            $other = $this->getDataGenerator()->create_and_enrol($course, 'student');
            $attempts[] = $this->attempt($quiz['quizid'], $other, [1 => 'trifft nicht zu'], $time);
        }

        $pages = [];
        $cursor = '';
        do {
            $page = $this->responses([$quiz['quizid']], 0, 0, 4, $cursor);
            $pages[] = array_values(array_unique(array_column($page['responses'], 'attemptid')));
            $this->assertCount(3, $page['responses']);
            $cursor = $page['nextcursor'];
        } while ($page['hasmore']);
        $this->assertSame([[$attempts[0]], [$attempts[1]], [$attempts[2]]], $pages);
        $this->assertCount(6, $this->responses([$quiz['quizid']], 0, 0, 7, '')['responses']);

        $DB->set_field('quiz_attempts', 'timemodified', time(), ['id' => $attempts[1]]);
        $young = $this->responses([$quiz['quizid']], 0, 0, 100, $cursor);
        $this->assertSame([], $young['responses']);
        $this->assertSame($cursor, $young['nextcursor']);
        $DB->set_field('quiz_attempts', 'timemodified', time() - 10, ['id' => $attempts[1]]);
        $again = $this->responses([$quiz['quizid']], 0, 0, 100, $cursor);
        $this->assertSame([$attempts[1]], array_values(array_unique(array_column($again['responses'], 'attemptid'))));
        $this->assertCount(3, $again['responses']);
        $this->assertFalse($again['hasmore']);
    }

    /**
     * Courseids (1.4.1) read the quizzes of the courses: the same rows as by their quiz ids, offset and keyset,
     * a quiz named both ways is read once, and another course's quiz stays out.
     */
    public function test_courseids_read_the_courses_quizzes(): void {
        $this->resetAfterTest();
        [$course, $quiz, $student] = $this->setup_quiz();
        $second = $this->getDataGenerator()->get_plugin_generator('local_mintqo')->create_quiz(
            $course->id,
            'mintqo:quiz:b',
            ['Angebot' => self::IDNUMBERS]
        );
        [$othercourse, $otherquiz, $otherstudent] = $this->setup_quiz();
        $time = time() - 100;
        $this->attempt($quiz['quizid'], $student, [1 => 'trifft voll zu'], $time);
        $this->attempt($second['quizid'], $student, [2 => 'trifft nicht zu'], $time);
        $this->attempt($otherquiz['quizid'], $otherstudent, [1 => 'trifft voll zu'], $time);

        $byquiz = $this->responses([$quiz['quizid'], $second['quizid']]);
        $this->assertSame(6, $byquiz['total']);
        $this->assertSame($byquiz, $this->responses([], 0, 0, 1000, null, [$course->id]));
        $this->assertSame($byquiz, $this->responses([$second['quizid']], 0, 0, 1000, null, [$course->id, $course->id]));
        $keyset = $this->responses([$quiz['quizid'], $second['quizid']], 0, 0, 1000, '');
        $this->assertSame($keyset, $this->responses([], 0, 0, 1000, '', [$course->id]));
        $this->assertSame($byquiz['responses'], $keyset['responses']);

        $both = $this->responses([$otherquiz['quizid']], 0, 0, 1000, null, [$course->id]);
        $this->assertSame(9, $both['total']);
        $this->assertSame(
            [$quiz['quizid'], $second['quizid'], $otherquiz['quizid']],
            array_values(array_unique(array_column($both['responses'], 'quizid')))
        );
        $this->assertSame(
            $this->responses([], 0, 0, 1000, null, [$othercourse->id])['responses'],
            $this->responses([$otherquiz['quizid']])['responses']
        );
        $none = ['responses' => [], 'total' => 0, 'nextcursor' => '', 'hasmore' => false];
        $this->assertSame($none, $this->responses([], 0, 0, 1000, null, []));
    }

    /**
     * A course is checked like a quiz: a student gets nopermissions for its quizzes, a course the user is not
     * enrolled in is refused, a missing course is a missing record.
     */
    public function test_courseids_access(): void {
        $this->resetAfterTest();
        [$course, , $student] = $this->setup_quiz();
        [$othercourse] = $this->setup_quiz();
        $this->setUser($student);
        try {
            $this->responses([], 0, 0, 1000, null, [$course->id]);
            $this->fail('a student read the answers of a course');
        } catch (\required_capability_exception $e) {
            $this->assertSame('nopermissions', $e->errorcode);
        }
        try {
            $this->responses([], 0, 0, 1000, null, [$othercourse->id]);
            $this->fail('a course of somebody else was read');
        } catch (\require_login_exception $e) {
            $this->assertSame('requireloginerror', $e->errorcode);
        }

        $this->setAdminUser();
        $this->expectException(\dml_missing_record_exception::class);
        $this->responses([], 0, 0, 1000, null, [987654]);
    }
}
