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
 * Tests of local_mintqo_get_course_state: what provisioning compares, for many courses in one call.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(get_course_state::class)]
final class get_course_state_test extends \advanced_testcase {
    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param string $categoryidnumber
     * @param array $courseids
     * @param array $courseidnumbers
     * @param int $limitfrom
     * @param int $limitnum
     * @return array
     */
    protected function state(
        string $categoryidnumber = '',
        array $courseids = [],
        array $courseidnumbers = [],
        int $limitfrom = 0,
        int $limitnum = 50
    ): array {
        $result = get_course_state::execute($categoryidnumber, $courseids, $courseidnumbers, $limitfrom, $limitnum);
        return external_api::clean_returnvalue(get_course_state::execute_returns(), $result);
    }

    /**
     * A cohort category under a root, with a course as provisioning builds it: sections, activities, a quiz,
     * a group with a member, a student, a teacher, and a manager of the category.
     *
     * @return array [root, category, course, student, teacher, manager, quiz answer]
     */
    protected function cohort(): array {
        global $DB;
        $generator = $this->getDataGenerator();
        $root = $generator->create_category(['idnumber' => 'mintqo:t:root', 'name' => 'MINT-Qualitätsoffensive']);
        $category = $generator->create_category(['idnumber' => 'mintqo:t:2025', 'name' => 'Durchgang 2025',
            'parent' => $root->id]);
        $course = $generator->create_course(['category' => $category->id, 'idnumber' => 'mintqo:t:ruhr',
            'fullname' => 'Ruhr & Emscher – Workshop-Zyklus', 'shortname' => 'MINT-QO Ruhr & Emscher',
            'summary' => '<p>Willkommen & „Hallo“</p>', 'enablecompletion' => 1, 'numsections' => 2]);
        upsert_sections::execute($course->id, [['section' => 1, 'name' => 'Workshop 1 & Start',
            'summary' => '<p>Termin</p>', 'visible' => 1]]);
        upsert_activities::execute($course->id, [
            ['section' => 1, 'modname' => 'page', 'idnumber' => 'mintqo:t:page', 'name' => 'Worum es geht & warum',
                'content' => '<p>x</p>', 'completion' => 2, 'completionview' => 1],
            ['section' => 1, 'modname' => 'label', 'idnumber' => 'mintqo:t:teilnahme', 'name' => 'Teilnahme',
                'intro' => '<p>Anwesenheit</p>', 'completion' => 1, 'selfcompletion' => 0],
            ['section' => 2, 'modname' => 'assign', 'idnumber' => 'mintqo:t:plan', 'name' => 'Maßnahmenplan',
                'intro' => '<p>Plan</p>', 'completion' => 2, 'completionsubmit' => 1, 'teamsubmission' => 1],
        ], []);
        $quiz = $this->getDataGenerator()->get_plugin_generator('local_mintqo')->create_quiz(
            $course->id,
            'mintqo:t:sa',
            ['Bereich B' => ['mintqo:t:q2', 'mintqo:t:q1'], 'Bereich A' => ['mintqo:t:q3']]
        );
        $student = $generator->create_and_enrol($course, 'student', ['idnumber' => 'mintqo:person:s']);
        $teacher = $generator->create_and_enrol($course, 'editingteacher');
        $group = $generator->create_group(['courseid' => $course->id, 'name' => 'Forscher & Co', 'idnumber' => 'mintqo:t:g']);
        $generator->create_group_member(['groupid' => $group->id, 'userid' => $student->id]);
        $generator->create_group(['courseid' => $course->id, 'name' => 'Leer']);
        $manager = $generator->create_user(['idnumber' => 'mintqo:person:m']);
        $managerrole = $DB->get_field('role', 'id', ['shortname' => 'manager'], MUST_EXIST);
        role_assign($managerrole, $manager->id, \context_coursecat::instance($category->id)->id);
        return [$root, $category, $course, $student, $teacher, $manager, $quiz];
    }

    /**
     * The category selector answers the category with its parents, its role holders, and each course in it with
     * raw names, sections, activities, quiz questions in slot order, groups, enrolments and users.
     */
    public function test_state_of_a_cohort_category(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        [$root, $category, $course, $student, $teacher, $manager, $quiz] = $this->cohort();
        $this->getDataGenerator()->create_course(['idnumber' => 'mintqo:t:elsewhere']);

        $result = $this->state('mintqo:t:2025');

        $this->assertSame(1, $result['total']);
        $this->assertSame([
            ['id' => (int)$category->id, 'idnumber' => 'mintqo:t:2025', 'name' => 'Durchgang 2025',
                'parent' => (int)$root->id, 'visible' => 1],
            ['id' => (int)$root->id, 'idnumber' => 'mintqo:t:root', 'name' => 'MINT-Qualitätsoffensive',
                'parent' => 0, 'visible' => 1],
        ], $result['categories']);
        $this->assertSame([['userid' => (int)$manager->id, 'roleid' => (int)$result['categoryroles'][0]['roleid'],
            'shortname' => 'manager']], $result['categoryroles']);

        $state = $result['courses'][0];
        $this->assertSame((int)$course->id, $state['id']);
        // Raw, not &amp;.
        $this->assertSame('Ruhr & Emscher – Workshop-Zyklus', $state['fullname']);
        $this->assertSame('MINT-QO Ruhr & Emscher', $state['shortname']);
        $this->assertSame('<p>Willkommen & „Hallo“</p>', $state['summary']);
        $this->assertSame((int)$category->id, $state['category']);
        $sections = array_column($state['sections'], null, 'section');
        $this->assertSame('Workshop 1 & Start', $sections[1]['name']);
        // The format's default name.
        $this->assertSame('', $sections[2]['name']);

        $activities = array_column($state['activities'], null, 'idnumber');
        $this->assertSame('Worum es geht & warum', $activities['mintqo:t:page']['name']);
        $this->assertSame('page', $activities['mintqo:t:page']['modname']);
        $this->assertSame(1, $activities['mintqo:t:page']['section']);
        $this->assertSame([2, 1, 1], [$activities['mintqo:t:page']['completion'],
            $activities['mintqo:t:page']['completionview'], $activities['mintqo:t:page']['selfcompletion']]);
        // Attendance: staff only.
        $this->assertSame(0, $activities['mintqo:t:teilnahme']['selfcompletion']);
        $this->assertSame(1, $activities['mintqo:t:plan']['completionsubmit']);
        $this->assertSame(2, $activities['mintqo:t:plan']['section']);
        $this->assertSame((int)$quiz['cmid'], $activities['mintqo:t:sa']['cmid']);

        $this->assertCount(1, $state['quizzes']);
        $this->assertSame((int)$quiz['quizid'], $state['quizzes'][0]['quizid']);
        $this->assertSame(['mintqo:t:q2', 'mintqo:t:q1', 'mintqo:t:q3'], $state['quizzes'][0]['questions']);

        $groups = array_column($state['groups'], null, 'name');
        $this->assertSame('mintqo:t:g', $groups['Forscher & Co']['idnumber']);
        $this->assertSame([(int)$student->id], $groups['Forscher & Co']['members']);
        $this->assertSame([], $groups['Leer']['members']);

        $enrolments = array_column($state['enrolments'], null, 'userid');
        $this->assertSame(['student'], array_column($enrolments[$student->id]['roles'], 'shortname'));
        $this->assertSame(['editingteacher'], array_column($enrolments[$teacher->id]['roles'], 'shortname'));
        $this->assertSame(0, $enrolments[$student->id]['status']);

        $users = array_column($result['users'], null, 'id');
        $this->assertEqualsCanonicalizing([(int)$student->id, (int)$teacher->id, (int)$manager->id], array_keys($users));
        $this->assertSame('mintqo:person:s', $users[$student->id]['idnumber']);
        $this->assertSame($student->email, $users[$student->id]['email']);
        $this->assertSame('mintqo:person:m', $users[$manager->id]['idnumber']);

        // Reading twice gives the same answer; an unknown category selects nothing.
        $this->assertSame($result, $this->state('mintqo:t:2025'));
        $empty = ['categories' => [], 'categoryroles' => [], 'courses' => [], 'users' => [], 'total' => 0];
        $this->assertSame($empty, $this->state('mintqo:t:none'));
    }

    /**
     * Courses by id and by idnumber join the category's, without duplicates, ordered by id and paged.
     */
    public function test_selection_by_ids_and_idnumbers_and_paging(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        [, , $course] = $this->cohort();
        $generator = $this->getDataGenerator();
        $moved = $generator->create_course(['idnumber' => 'mintqo:t:moved']);
        $other = $generator->create_course();

        $all = $this->state('mintqo:t:2025', [$other->id, $course->id], ['mintqo:t:moved', 'mintqo:t:unknown', '']);
        $this->assertSame(3, $all['total']);
        $this->assertSame([(int)$course->id, (int)$moved->id, (int)$other->id], array_column($all['courses'], 'id'));

        $first = $this->state('mintqo:t:2025', [$other->id], ['mintqo:t:moved'], 0, 2);
        $second = $this->state('mintqo:t:2025', [$other->id], ['mintqo:t:moved'], 2, 2);
        $this->assertSame(3, $first['total']);
        $this->assertSame([(int)$course->id, (int)$moved->id], array_column($first['courses'], 'id'));
        $this->assertSame([(int)$other->id], array_column($second['courses'], 'id'));
        $this->assertSame($first['categories'], $second['categories']);
        // Users belong to the page: the second page's course has nobody enrolled, only the category's manager.
        $this->assertCount(1, $second['users']);
    }

    /**
     * Bad paging is invalidparameter; a missing course id is a missing record.
     */
    public function test_bad_parameters(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        foreach ([[0, 0], [0, 201], [-1, 10]] as [$limitfrom, $limitnum]) {
            try {
                $this->state('', [], [], $limitfrom, $limitnum);
                $this->fail("invalidparameter expected for {$limitfrom}/{$limitnum}");
            } catch (\invalid_parameter_exception $e) {
                $this->assertSame('invalidparameter', $e->errorcode);
            }
        }
        $this->expectException(\dml_missing_record_exception::class);
        $this->state('', [999999]);
    }

    /**
     * A student of the course may neither read its state nor the category's role holders; the teacher of the
     * course reads the course (without the category); e-mails only with moodle/site:viewuseridentity.
     */
    public function test_capabilities(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        [, , $course, $student, $teacher] = $this->cohort();

        $this->setUser($student);
        try {
            $this->state('', [$course->id]);
            $this->fail('nopermissions expected for a student');
        } catch (\required_capability_exception $e) {
            $this->assertSame('nopermissions', $e->errorcode);
        }

        $this->setUser($teacher);
        try {
            $this->state('mintqo:t:2025');
            $this->fail('nopermissions expected: a teacher cannot assign roles in the category');
        } catch (\required_capability_exception $e) {
            $this->assertSame('nopermissions', $e->errorcode);
        }
        $answer = $this->state('', [$course->id]);
        $this->assertSame([(int)$course->id], array_column($answer['courses'], 'id'));
        $this->assertNotSame('', array_column($answer['users'], 'email', 'id')[$student->id]);

        $role = $DB->get_field('role', 'id', ['shortname' => 'editingteacher'], MUST_EXIST);
        $context = \context_course::instance($course->id);
        assign_capability('moodle/site:viewuseridentity', CAP_PROHIBIT, $role, $context->id, true);
        accesslib_clear_all_caches_for_unit_testing();
        $answer = $this->state('', [$course->id]);
        $this->assertSame('', array_column($answer['users'], 'email', 'id')[$student->id]);
    }
}
