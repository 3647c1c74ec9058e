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
 * Tests of local_mintqo_set_completions: overrides by the caller, idempotent, all or nothing.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(set_completions::class)]
final class set_completions_test extends \advanced_testcase {
    /**
     * A course with completion, a staff-marked page and three students.
     *
     * @return array [course, cm, students]
     */
    protected function setup_course(): array {
        global $CFG;
        require_once($CFG->libdir . '/completionlib.php');
        $generator = $this->getDataGenerator();
        $course = $generator->create_course(['enablecompletion' => 1, 'fullname' => 'Werkstatt „Ümläute“ & "Quotes"']);
        $page = $generator->create_module('page', ['course' => $course->id, 'completion' => COMPLETION_TRACKING_MANUAL,
            'name' => 'Workshop 1 & "Anwesenheit"']);
        $cm = get_coursemodule_from_id('page', $page->cmid, $course->id, false, MUST_EXIST);
        $students = [];
        for ($i = 0; $i < 3; $i++) {
            $students[] = $generator->create_and_enrol($course, 'student', ['lastname' => "O'Brien {$i}"]);
        }
        return [$course, $cm, $students];
    }

    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param int $cmid
     * @param array $entries userid => completed
     * @return array
     */
    protected function set(int $cmid, array $entries): array {
        $list = [];
        foreach ($entries as $userid => $completed) {
            $list[] = ['userid' => $userid, 'completed' => $completed];
        }
        $result = set_completions::execute($cmid, $list);
        return external_api::clean_returnvalue(set_completions::execute_returns(), $result)['results'];
    }

    /**
     * The state core reports for a user, with who overrode it.
     *
     * @param \stdClass $course
     * @param \stdClass $cm
     * @param int $userid
     * @return \stdClass
     */
    protected function state(\stdClass $course, \stdClass $cm, int $userid): \stdClass {
        return (new \completion_info($course))->get_data($cm, false, $userid);
    }

    /**
     * Overrides are written once, by the caller; the same call again changes nothing; an undo is written.
     */
    public function test_override_and_idempotence(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        [$course, $cm, $students] = $this->setup_course();
        $admin = (int)get_admin()->id;

        $results = $this->set($cm->id, [$students[0]->id => true, $students[1]->id => false]);

        $this->assertSame([(int)$students[0]->id, (int)$students[1]->id], array_column($results, 'userid'));
        $this->assertSame([COMPLETION_COMPLETE, COMPLETION_INCOMPLETE], array_column($results, 'state'));
        $this->assertSame([true, false], array_column($results, 'changed'));
        $this->assertSame([$admin, null], array_column($results, 'overrideby'));
        $this->assertSame($admin, (int)$this->state($course, $cm, $students[0]->id)->overrideby);
        $_POST['sesskey'] = sesskey();
        $core = external_api::call_external_function(
            'core_completion_get_activities_completion_status',
            ['courseid' => $course->id, 'userid' => $students[0]->id]
        );
        $this->assertFalse($core['error']);
        $status = array_values(array_filter($core['data']['statuses'], fn($s) => $s['cmid'] == $cm->id))[0];
        $this->assertSame($admin, (int)$status['overrideby']);
        $this->assertSame(COMPLETION_COMPLETE, (int)$status['state']);

        $again = $this->set($cm->id, [$students[0]->id => true, $students[1]->id => false]);
        $this->assertSame([false, false], array_column($again, 'changed'));
        $this->assertSame($results[0]['timemodified'], $again[0]['timemodified']);

        $undo = $this->set($cm->id, [$students[0]->id => false]);
        $this->assertSame([[COMPLETION_INCOMPLETE, true]], array_map(fn($r) => [$r['state'], $r['changed']], $undo));
    }

    /**
     * One person who is not a tracked participant fails the whole call: nothing is written, the error names them.
     */
    public function test_all_or_nothing(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        [$course, $cm, $students] = $this->setup_course();
        $stranger = $this->getDataGenerator()->create_user();
        try {
            $this->set($cm->id, [$students[0]->id => true, $stranger->id => true]);
            $this->fail('a user who is not enrolled accepted');
        } catch (\moodle_exception $e) {
            $this->assertSame('usernottracked', $e->errorcode);
            $this->assertStringContainsString((string)$stranger->id, $e->getMessage());
        }
        $this->assertSame(COMPLETION_INCOMPLETE, (int)$this->state($course, $cm, $students[0]->id)->completionstate);
        try {
            set_completions::execute($cm->id, [['userid' => $students[0]->id, 'completed' => true],
                ['userid' => $students[0]->id, 'completed' => false]]);
            $this->fail('a user twice accepted');
        } catch (\invalid_parameter_exception $e) {
            $this->assertSame('invalidparameter', $e->errorcode);
        }
        $page = $this->getDataGenerator()->create_module('page', ['course' => $course->id]);
        try {
            $this->set($page->cmid, [$students[0]->id => true]);
            $this->fail('an activity without completion accepted');
        } catch (\moodle_exception $e) {
            $this->assertSame('completionnotenabled', $e->errorcode);
        }
    }

    /**
     * A student (no moodle/course:overridecompletion) cannot set completions.
     */
    public function test_requires_override_capability(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        [, $cm, $students] = $this->setup_course();
        $this->setUser($students[0]);
        $this->expectException(\required_capability_exception::class);
        $this->set($cm->id, [$students[1]->id => true]);
    }
}
