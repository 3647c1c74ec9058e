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

namespace local_mintqo;

use local_mintqo\local\team;

/**
 * One team, one analysis: a member's submission completes the plugin quiz for the whole group, and only there.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(observer::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(team::class)]
final class team_completion_test extends \advanced_testcase {
    /** @var string[] question idnumbers of the test quiz */
    protected const IDNUMBERS = ['mintqo:t:ang-01', 'mintqo:t:ang-02', 'mintqo:t:qua-01'];

    /**
     * Course with completion, a plugin quiz as the course's completion criterion, groups A and B.
     *
     * @param string $idnumber the quiz's idnumber
     * @return array [course, quiz answer of import_quiz, users by name (a1, a2, a3, b1, b2, teacher), group A, group B]
     */
    protected function setup_course(string $idnumber = 'mintqo:regional_cycle:selbstanalyse-1'): array {
        global $CFG;
        require_once($CFG->dirroot . '/mod/quiz/locallib.php');
        require_once($CFG->libdir . '/completionlib.php');
        // The observer is not internal: it runs after the quiz commits, which needs real commits in the test.
        $this->preventResetByRollback();
        $this->resetAfterTest();
        $this->setAdminUser();
        $generator = $this->getDataGenerator();
        $course = $generator->create_course(['enablecompletion' => 1]);
        $quiz = $generator->get_plugin_generator('local_mintqo')->create_quiz($course->id, $idnumber, [
            'Angebot' => array_slice(self::IDNUMBERS, 0, 2),
            'Qualität' => array_slice(self::IDNUMBERS, 2),
        ]);
        \local_mintqo\external\upsert_activities::execute($course->id, [], [['idnumber' => $idnumber]]);
        $groupa = $generator->create_group(['courseid' => $course->id, 'name' => 'Initiative A']);
        $groupb = $generator->create_group(['courseid' => $course->id, 'name' => 'Initiative B']);
        $users = [];
        foreach (['a1' => $groupa, 'a2' => $groupa, 'a3' => $groupa, 'b1' => $groupb, 'b2' => $groupb] as $name => $group) {
            $users[$name] = $generator->create_and_enrol($course, 'student', ['username' => $name]);
            $generator->create_group_member(['groupid' => $group->id, 'userid' => $users[$name]->id]);
        }
        $users['teacher'] = $generator->create_and_enrol($course, 'editingteacher', ['username' => 'teacher']);
        $generator->create_group_member(['groupid' => $groupa->id, 'userid' => $users['teacher']->id]);
        return [$course, $quiz, $users, $groupa, $groupb];
    }

    /**
     * A finished attempt by a user, submitted as the quiz page does it.
     *
     * @param int $quizid
     * @param \stdClass $user
     * @param array $answers slot => answer text
     * @return int attempt id
     */
    protected function attempt(int $quizid, \stdClass $user, array $answers = [1 => 'trifft voll zu']): int {
        $this->setUser($user);
        $attemptid = $this->getDataGenerator()->get_plugin_generator('local_mintqo')->make_attempt($quizid, $user->id, $answers);
        $this->setAdminUser();
        return $attemptid;
    }

    /**
     * The stored completion row of a user for the quiz, or null.
     *
     * @param int $cmid
     * @param \stdClass $user
     * @return \stdClass|null
     */
    protected function completion(int $cmid, \stdClass $user): ?\stdClass {
        global $DB;
        return $DB->get_record('course_modules_completion', ['coursemoduleid' => $cmid, 'userid' => $user->id]) ?: null;
    }

    /**
     * Whether course completion counts the user complete.
     *
     * @param \stdClass $course
     * @param \stdClass $user
     * @return bool
     */
    protected function course_complete(\stdClass $course, \stdClass $user): bool {
        $info = new \completion_info($course);
        return $info->is_course_complete($user->id);
    }

    public function test_one_member_submits_and_the_whole_group_is_complete(): void {
        [$course, $quiz, $users, , ] = $this->setup_course();
        $cm = get_coursemodule_from_id('quiz', $quiz['cmid']);

        $this->attempt($quiz['quizid'], $users['a1']);

        foreach (['a1', 'a2', 'a3'] as $name) {
            $row = $this->completion($cm->id, $users[$name]);
            $this->assertNotNull($row, $name);
            $this->assertEquals(COMPLETION_COMPLETE, $row->completionstate, $name);
            $this->assertTrue($this->course_complete($course, $users[$name]), "$name: course completion agrees");
            // What the progress report and the course page read.
            $data = (new \completion_info($course))->get_data($cm, false, $users[$name]->id);
            $this->assertEquals(COMPLETION_COMPLETE, $data->completionstate, $name);
        }
        // The teammates' completion is an override set by the submitter; the submitter's own is the quiz's rule.
        $this->assertEquals($users['a1']->id, $this->completion($cm->id, $users['a2'])->overrideby);
        $this->assertEquals($users['a1']->id, $this->completion($cm->id, $users['a3'])->overrideby);
        $this->assertNull($this->completion($cm->id, $users['a1'])->overrideby);
        foreach (['b1', 'b2'] as $name) {
            $row = $this->completion($cm->id, $users[$name]);
            $this->assertTrue($row === null || (int)$row->completionstate === COMPLETION_INCOMPLETE, $name);
            $this->assertFalse($this->course_complete($course, $users[$name]), $name);
        }
        // A teacher in the group is not tracked by completion and stays untouched.
        $this->assertNull($this->completion($cm->id, $users['teacher']));
    }

    public function test_a_second_submission_changes_nothing_for_the_team(): void {
        [, $quiz, $users, , ] = $this->setup_course();
        $cm = get_coursemodule_from_id('quiz', $quiz['cmid']);
        $this->attempt($quiz['quizid'], $users['a1']);
        $before = $this->completion($cm->id, $users['a3']);
        $this->waitForSecond();

        $this->attempt($quiz['quizid'], $users['a2']);
        $this->assertEquals([], team::complete_team($cm, (int)$users['a2']->id));

        $after = $this->completion($cm->id, $users['a3']);
        $this->assertEquals($before, $after);
        $this->assertEquals($users['a1']->id, $after->overrideby);
        // The second submitter's own row holds too: Moodle keeps an override to complete (update_state()).
        $this->assertEquals($users['a1']->id, $this->completion($cm->id, $users['a2'])->overrideby);
        $this->assertEquals(COMPLETION_COMPLETE, $this->completion($cm->id, $users['a2'])->completionstate);
        $this->assertNull($this->completion($cm->id, $users['b1']));
    }

    public function test_teams_are_completed_again_after_moodle_reset_the_quizs_completion(): void {
        [$course, $quiz, $users, , ] = $this->setup_course();
        $cm = get_coursemodule_from_id('quiz', $quiz['cmid']);
        $this->attempt($quiz['quizid'], $users['a1']);
        // What update_moduleinfo() does when a quiz's completion rules change: recalculate, then the event.
        (new \completion_info($course))->reset_all_state($cm);
        $this->assertNull($this->completion($cm->id, $users['a2']));
        \core\event\course_module_updated::create_from_cm($cm)->trigger();

        $this->assertEquals($users['a1']->id, $this->completion($cm->id, $users['a2'])->overrideby);
        $this->assertEquals(COMPLETION_COMPLETE, $this->completion($cm->id, $users['a3'])->completionstate);
        $this->assertEquals(COMPLETION_COMPLETE, $this->completion($cm->id, $users['a1'])->completionstate);
        $this->assertTrue($this->course_complete($course, $users['a2']));
        $row = $this->completion($cm->id, $users['b1']);
        $this->assertTrue($row === null || (int)$row->completionstate === COMPLETION_INCOMPLETE);
        $this->assertEquals([], team::complete_all_teams($cm), 'a second run changes nothing');
    }

    public function test_the_first_member_of_group_b_completes_group_b_only(): void {
        [, $quiz, $users, , ] = $this->setup_course();
        $cm = get_coursemodule_from_id('quiz', $quiz['cmid']);
        $this->attempt($quiz['quizid'], $users['b2']);
        $this->assertEquals($users['b2']->id, $this->completion($cm->id, $users['b1'])->overrideby);
        foreach (['a1', 'a2', 'a3'] as $name) {
            $this->assertNull($this->completion($cm->id, $users[$name]), $name);
        }
    }

    public function test_quizzes_not_made_by_the_plugin_stay_individual(): void {
        [, $quiz, $users, , ] = $this->setup_course('extern:quiz');
        $cm = get_coursemodule_from_id('quiz', $quiz['cmid']);
        $this->assertFalse(team::is_team_quiz($cm));

        $this->attempt($quiz['quizid'], $users['a1']);

        $this->assertEquals(COMPLETION_COMPLETE, $this->completion($cm->id, $users['a1'])->completionstate);
        $this->assertNull($this->completion($cm->id, $users['a2']));
        $this->assertEquals([], team::complete_team($cm, (int)$users['a1']->id));
    }

    public function test_the_team_analysis_is_the_latest_finished_attempt_of_any_member(): void {
        [, $quiz, $users, $groupa, $groupb] = $this->setup_course();
        $this->assertNull(team::latest_attempt($quiz['quizid'], $groupa->id));
        $first = $this->attempt($quiz['quizid'], $users['a1']);
        $this->assertEquals($first, team::latest_attempt($quiz['quizid'], $groupa->id)->id);
        $this->waitForSecond();
        $second = $this->attempt($quiz['quizid'], $users['a3']);
        // An attempt still in progress does not count.
        $this->setUser($users['a2']);
        quiz_prepare_and_start_new_attempt(\mod_quiz\quiz_settings::create($quiz['quizid'], $users['a2']->id), 1, null);
        $this->setAdminUser();
        $this->assertEquals($second, team::latest_attempt($quiz['quizid'], $groupa->id)->id);
        $this->assertNull(team::latest_attempt($quiz['quizid'], $groupb->id));
    }
}
