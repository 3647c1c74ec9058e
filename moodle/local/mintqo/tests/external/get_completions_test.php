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
 * Tests of local_mintqo_get_completions: activity and course completions of several courses, paged, by time.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(get_completions::class)]
final class get_completions_test extends \advanced_testcase {
    /**
     * A course with completion, a manually completed page, and the course completed, for one student.
     *
     * @param int $time when the student completed
     * @return array [course, cm of the page, student]
     */
    protected function setup_course(int $time): array {
        global $CFG;
        require_once($CFG->libdir . '/completionlib.php');
        require_once($CFG->dirroot . '/completion/completion_completion.php');
        $generator = $this->getDataGenerator();
        $course = $generator->create_course(['enablecompletion' => 1]);
        $page = $generator->create_module('page', [
            'course' => $course->id,
            'idnumber' => 'mintqo:t:page',
            'completion' => COMPLETION_TRACKING_MANUAL,
        ]);
        $student = $generator->create_and_enrol($course, 'student');
        $cm = get_coursemodule_from_id('page', $page->cmid, $course->id, false, MUST_EXIST);
        (new \completion_info($course))->update_state($cm, COMPLETION_COMPLETE, $student->id);
        $completion = new \completion_completion(['course' => $course->id, 'userid' => $student->id]);
        $completion->mark_complete($time);
        return [$course, $cm, $student];
    }

    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param array $courseids
     * @param int $since
     * @param int $limitfrom
     * @param int $limitnum
     * @param string|null $cursor
     * @return array
     */
    protected function completions(
        array $courseids,
        int $since = 0,
        int $limitfrom = 0,
        int $limitnum = 1000,
        ?string $cursor = null
    ): array {
        $result = get_completions::execute($courseids, $since, $limitfrom, $limitnum, $cursor);
        return external_api::clean_returnvalue(get_completions::execute_returns(), $result);
    }

    /**
     * Activity states and course completions of the course, with idnumber and module name.
     */
    public function test_reports_activity_and_course_completions(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $time = time();
        [$course, $cm, $student] = $this->setup_course($time);
        $empty = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);

        $result = $this->completions([$course->id, $empty->id]);

        $this->assertSame(1, $result['totalactivities']);
        $activity = $result['activities'][0];
        $this->assertSame((int)$course->id, $activity['courseid']);
        $this->assertSame((int)$cm->id, $activity['cmid']);
        $this->assertSame('mintqo:t:page', $activity['idnumber']);
        $this->assertSame('page', $activity['modname']);
        $this->assertSame((int)$student->id, $activity['userid']);
        $this->assertSame(COMPLETION_COMPLETE, $activity['state']);
        $this->assertNull($activity['overrideby']);

        $this->assertSame(1, $result['totalcourses']);
        $this->assertSame((int)$student->id, $result['courses'][0]['userid']);
        $this->assertSame($time, $result['courses'][0]['timecompleted']);
        $this->assertGreaterThanOrEqual($time, $result['courses'][0]['timemodified']);
    }

    /**
     * Both lists are paged with the same limits, since filters them; reading twice gives the same answer.
     */
    public function test_paging_and_since(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $time = time();
        [$course] = $this->setup_course($time);
        [$second] = $this->setup_course($time);

        $first = $this->completions([$course->id, $second->id], 0, 0, 1);
        $this->assertSame(2, $first['totalactivities']);
        $this->assertSame(2, $first['totalcourses']);
        $this->assertCount(1, $first['activities']);
        $this->assertCount(1, $first['courses']);
        $next = $this->completions([$course->id, $second->id], 0, 1, 1);
        $this->assertNotEquals($first['activities'][0]['cmid'], $next['activities'][0]['cmid']);
        $this->assertSame($first, $this->completions([$course->id, $second->id], 0, 0, 1));

        $later = $this->completions([$course->id], time() + 3600);
        $this->assertSame(0, $later['totalactivities']);
        $this->assertSame(0, $later['totalcourses']);
        $this->assertSame(
            ['activities' => [], 'courses' => [], 'totalactivities' => 0, 'totalcourses' => 0, 'nextcursor' => '',
                'hasmore' => false],
            $this->completions([])
        );
    }

    /**
     * A student (no report/progress:view) cannot read completions.
     */
    public function test_requires_progress_view(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        [$course, , $student] = $this->setup_course(time());
        $this->setUser($student);

        $this->expectException(\required_capability_exception::class);
        $this->completions([$course->id]);
    }

    /**
     * Bad paging values and a missing course are refused.
     */
    public function test_bad_parameters(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);

        foreach ([[-1, 10], [0, 0], [0, 5001]] as [$limitfrom, $limitnum]) {
            try {
                $this->completions([$course->id], 0, $limitfrom, $limitnum);
                $this->fail('invalid paging accepted');
            } catch (\invalid_parameter_exception $e) {
                $this->assertSame('invalidparameter', $e->errorcode);
            }
        }
        $_POST['sesskey'] = sesskey();
        $response = external_api::call_external_function('local_mintqo_get_completions', ['courseids' => ['abc']]);
        $this->assertTrue($response['error']);
        $this->assertSame('invalidparameter', $response['exception']->errorcode);

        $this->expectException(\dml_missing_record_exception::class);
        $this->completions([987654]);
    }

    /**
     * Three students complete a page in the same second: pages of two by (time, id), each row exactly once.
     *
     * @return array [course, cm, students]
     */
    protected function same_second_course(): array {
        global $CFG, $DB;
        require_once($CFG->libdir . '/completionlib.php');
        $generator = $this->getDataGenerator();
        $course = $generator->create_course(['enablecompletion' => 1]);
        $page = $generator->create_module('page', ['course' => $course->id, 'completion' => COMPLETION_TRACKING_MANUAL]);
        $cm = get_coursemodule_from_id('page', $page->cmid, $course->id, false, MUST_EXIST);
        $students = [];
        for ($i = 0; $i < 3; $i++) {
            $students[] = $generator->create_and_enrol($course, 'student');
            (new \completion_info($course))->update_state($cm, COMPLETION_COMPLETE, end($students)->id);
        }
        $DB->set_field('course_modules_completion', 'timemodified', time() - 100, ['coursemoduleid' => $cm->id]);
        $DB->set_field('course_completions', 'timeenrolled', time() - 100, ['course' => $course->id]);
        return [$course, $cm, $students];
    }

    /**
     * Keyset pages: same-second rows are split by id, nothing is read twice, and the cursor stays when nothing is new.
     */
    public function test_cursor_pages_same_second_rows_once(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        [$course, , $students] = $this->same_second_course();

        $first = $this->completions([$course->id], 0, 0, 2, '');
        $this->assertCount(2, $first['activities']);
        $this->assertTrue($first['hasmore']);
        $this->assertSame(3, $first['totalactivities']);
        $second = $this->completions([$course->id], 0, 0, 2, $first['nextcursor']);
        $this->assertCount(1, $second['activities']);
        $this->assertFalse($second['hasmore']);
        $userids = array_column(array_merge($first['activities'], $second['activities']), 'userid');
        $this->assertSame(array_map(fn($s) => (int)$s->id, $students), $userids);
        $third = $this->completions([$course->id], 0, 0, 2, $second['nextcursor']);
        $this->assertSame([], $third['activities']);
        $this->assertSame([], $third['courses']);
        $this->assertSame($second['nextcursor'], $third['nextcursor']);
        $this->assertFalse($third['hasmore']);
    }

    /**
     * A row changed after the cursor passed it comes again; a row younger than the settle time waits.
     */
    public function test_cursor_rereads_changed_rows_and_waits_for_young_ones(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        [$course, $cm, $students] = $this->same_second_course();
        $all = $this->completions([$course->id], 0, 0, 100, '');
        $this->assertCount(3, $all['activities']);

        (new \completion_info($course))->update_state($cm, COMPLETION_INCOMPLETE, $students[0]->id, true);
        $young = $this->completions([$course->id], 0, 0, 100, $all['nextcursor']);
        $this->assertSame([], $young['activities'], 'a row of this second is not served yet');
        $this->assertSame($all['nextcursor'], $young['nextcursor']);
        $legacy = array_filter($this->completions([$course->id])['activities'], fn($a) => $a['state'] === 0);
        $this->assertCount(1, $legacy, 'without a cursor the current second is served');

        $DB->set_field(
            'course_modules_completion',
            'timemodified',
            time() - 10,
            ['coursemoduleid' => $cm->id, 'userid' => $students[0]->id]
        );
        $again = $this->completions([$course->id], 0, 0, 100, $all['nextcursor']);
        $this->assertCount(1, $again['activities']);
        $this->assertSame((int)$students[0]->id, $again['activities'][0]['userid']);
        $this->assertSame(COMPLETION_INCOMPLETE, $again['activities'][0]['state']);
        $this->assertSame((int)get_admin()->id, $again['activities'][0]['overrideby']);
    }

    /**
     * A cursor of another function, a malformed one and limitfrom with a cursor are invalid parameters.
     */
    public function test_bad_cursors(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);
        foreach ([['q1:1:2', 0], ['c1:x:1:2:3', 0], ['', 1]] as [$cursor, $limitfrom]) {
            try {
                $this->completions([$course->id], 0, $limitfrom, 10, $cursor);
                $this->fail("cursor '{$cursor}' with limitfrom {$limitfrom} accepted");
            } catch (\invalid_parameter_exception $e) {
                $this->assertSame('invalidparameter', $e->errorcode);
            }
        }
    }
}
