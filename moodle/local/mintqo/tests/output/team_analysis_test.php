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

namespace local_mintqo\output;

use local_mintqo\local\team;

/**
 * The team page: every member reads the team's latest analysis, answers per dimension and criterion, no marks.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(team_analysis::class)]
final class team_analysis_test extends \advanced_testcase {
    /** @var string[] question idnumbers of the test quiz */
    protected const IDNUMBERS = ['mintqo:t:ang-01', 'mintqo:t:ang-02', 'mintqo:t:ang-03', 'mintqo:t:qua-01'];

    /**
     * A course with a plugin quiz (criterion titles in the question names as the instrument writes them), groups
     * A and B, three members in A, one in B, a teacher.
     *
     * @return array [course, cm, quiz record, users by name, group A, group B]
     */
    protected function setup_course(): array {
        global $CFG, $DB;
        require_once($CFG->dirroot . '/mod/quiz/locallib.php');
        $this->resetAfterTest();
        $this->setAdminUser();
        $generator = $this->getDataGenerator();
        $course = $generator->create_course(['enablecompletion' => 1]);
        $result = $generator->get_plugin_generator('local_mintqo')->create_quiz(
            $course->id,
            'mintqo:regional_cycle:selbstanalyse-1',
            ['Angebotsqualität' => array_slice(self::IDNUMBERS, 0, 3), 'Qualität & „Wirkung“' => array_slice(self::IDNUMBERS, 3)]
        );
        $criteria = ['Orientierung', 'Orientierung', 'Lernen', 'Wirkung'];
        foreach ($result['questions'] as $index => $question) {
            $name = substr($question['idnumber'], strlen('mintqo:t:')) . team_analysis::NAME_SEPARATOR . $criteria[$index];
            $DB->set_field('question', 'name', $name, ['id' => $question['questionid']]);
            \question_bank::notify_question_edited($question['questionid']);
        }
        $groupa = $generator->create_group(['courseid' => $course->id, 'name' => 'Initiative A']);
        $groupb = $generator->create_group(['courseid' => $course->id, 'name' => 'Initiative B']);
        $users = [];
        foreach (['a1' => $groupa, 'a2' => $groupa, 'a3' => $groupa, 'b1' => $groupb] as $name => $group) {
            $users[$name] = $generator->create_and_enrol($course, 'student', ['firstname' => 'Anna', 'lastname' => $name]);
            $generator->create_group_member(['groupid' => $group->id, 'userid' => $users[$name]->id]);
        }
        $users['teacher'] = $generator->create_and_enrol($course, 'editingteacher');
        $cm = get_coursemodule_from_id('quiz', $result['cmid']);
        $quiz = $DB->get_record('quiz', ['id' => $result['quizid']]);
        return [$course, $cm, $quiz, $users, $groupa, $groupb];
    }

    /**
     * A finished attempt by a user with answer texts per slot.
     *
     * @param \stdClass $quiz
     * @param \stdClass $user
     * @param array $answers slot => answer text
     * @return int attempt id
     */
    protected function attempt(\stdClass $quiz, \stdClass $user, array $answers): int {
        $this->setUser($user);
        $attemptid = $this->getDataGenerator()->get_plugin_generator('local_mintqo')->make_attempt($quiz->id, $user->id, $answers);
        $this->setAdminUser();
        return $attemptid;
    }

    /**
     * The page's data for a group as a user sees it.
     *
     * @param \stdClass $cm
     * @param \stdClass $quiz
     * @param \stdClass $group
     * @return array [template data, rendered HTML]
     */
    protected function page(\stdClass $cm, \stdClass $quiz, \stdClass $group): array {
        global $PAGE;
        $widget = new team_analysis($cm, $quiz, $group, team::latest_attempt((int)$quiz->id, (int)$group->id));
        $output = $PAGE->get_renderer('core');
        return [$widget->export_for_template($output), $output->render($widget)];
    }

    public function test_members_read_the_teams_latest_answers_without_marks(): void {
        [, $cm, $quiz, $users, $groupa] = $this->setup_course();
        // The generator's scale in answer order: trifft voll zu (position 1), trifft teilweise zu, trifft nicht zu.
        $this->attempt($quiz, $users['a1'], [1 => 'trifft voll zu', 2 => 'trifft voll zu', 3 => 'trifft voll zu']);
        $this->waitForSecond();
        $this->attempt($quiz, $users['a3'], [1 => 'trifft teilweise zu', 2 => 'trifft nicht zu']);

        $this->setUser($users['a2']);
        [$data, $html] = $this->page($cm, $quiz, $groupa);

        $this->assertTrue($data['hasattempt']);
        $this->assertStringContainsString('Anna a3', $data['submitted'], 'the latest submitter');
        $this->assertSame('Initiative: Initiative A', $data['grouptitle']);
        $this->assertCount(2, $data['dimensions']);

        [$angebot, $wirkung] = $data['dimensions'];
        $this->assertSame('Angebotsqualität', $angebot['heading']);
        $this->assertSame(['Orientierung', 'Lernen'], array_column($angebot['criteria'], 'title'));
        $answers = array_column(array_merge(...array_column($angebot['criteria'], 'statements')), 'answer');
        $noanswer = get_string('teamanalysis_noanswer', 'local_mintqo');
        $this->assertSame(['trifft teilweise zu', 'trifft nicht zu', $noanswer], $answers);
        // Positions 2 and 3 of three answers: 50 and 100, mean 75; two of three statements answered.
        $this->assertSame(75, $angebot['value']);
        $this->assertSame(get_string('teamanalysis_result', 'local_mintqo', 75), $angebot['result']);
        // Fewer than half of the statements answered: no number.
        $this->assertFalse($wirkung['hasvalue']);
        $this->assertSame(get_string('teamanalysis_notmeaningful', 'local_mintqo'), $wirkung['result']);
        $this->assertSame('Qualität &amp; „Wirkung“', $wirkung['heading']);

        $this->assertStringContainsString('trifft teilweise zu', $html);
        $this->assertStringContainsString('Aussage mintqo:t:ang-01 &amp;', $html);
        $this->assertStringContainsString('„Umlaute“ äöü', $html);
        $this->assertStringNotContainsString('&amp;amp;', $html);
        foreach (['correct', 'grade', 'mark', 'punkte', 'richtig', 'falsch', 'bewertung'] as $word) {
            $this->assertStringNotContainsStringIgnoringCase($word, strip_tags($html), $word);
        }
    }

    public function test_half_of_the_statements_answered_is_enough(): void {
        [, $cm, $quiz, $users, $groupa] = $this->setup_course();
        $this->attempt($quiz, $users['a1'], [1 => 'trifft nicht zu', 4 => 'trifft voll zu']);
        $dimensions = (new team_analysis($cm, $quiz, $groupa, team::latest_attempt((int)$quiz->id, (int)$groupa->id)))
            ->dimensions();
        // One of three statements is less than half.
        $this->assertNull($dimensions[0]['value']);
        // One of one: 0.
        $this->assertSame(0, $dimensions[1]['value']);
        $this->assertSame([1, 1], array_column($dimensions, 'answered'));
    }

    public function test_a_group_without_a_submitted_analysis_is_told_how_it_works(): void {
        [, $cm, $quiz, $users, $groupa, $groupb] = $this->setup_course();
        $this->attempt($quiz, $users['a1'], [1 => 'trifft voll zu']);
        $this->setUser($users['b1']);
        [$data, $html] = $this->page($cm, $quiz, $groupb);
        $this->assertFalse($data['hasattempt']);
        $this->assertSame([], $data['dimensions']);
        $this->assertStringContainsString(get_string('teamanalysis_none', 'local_mintqo'), $html);
        $this->assertStringNotContainsString('trifft voll zu', $html);
    }

    public function test_members_see_only_their_own_initiative_and_teachers_choose(): void {
        [$course, $cm, , $users, $groupa, $groupb] = $this->setup_course();
        $context = \context_module::instance($cm->id);
        $this->assertSame([(int)$groupa->id], array_keys(team::viewable_groups($course->id, $context, $users['a1']->id)));
        // Asking for another initiative's id shows one's own.
        $groups = team::viewable_groups($course->id, $context, $users['a1']->id);
        $this->assertEquals($groupa->id, team::choose_group($groups, (int)$groupb->id)->id);
        $teachers = team::viewable_groups($course->id, $context, $users['teacher']->id);
        $this->assertEqualsCanonicalizing([(int)$groupa->id, (int)$groupb->id], array_map('intval', array_keys($teachers)));
        $this->assertEquals($groupb->id, team::choose_group($teachers, (int)$groupb->id)->id);
        $this->assertNull(team::choose_group([], 0));
        // Everybody in the course reads through the capability of the archetypes.
        foreach (['a1', 'teacher'] as $name) {
            $this->assertTrue(has_capability('local/mintqo:viewteamanalysis', $context, $users[$name]), $name);
        }
        $outsider = $this->getDataGenerator()->create_user();
        $this->assertFalse(has_capability('local/mintqo:viewteamanalysis', $context, $outsider));
    }
}
