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
 * Tests of local_mintqo_get_enrolments: rows after a cursor, digests that show deletions, full reads.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(get_enrolments::class)]
final class get_enrolments_test extends \advanced_testcase {
    /**
     * A course with three students and a teacher, two groups (one with a messy name), everything 100 s old.
     *
     * @return array [course, students, teacher, group 1, group 2]
     */
    protected function setup_course(): array {
        global $DB;
        $generator = $this->getDataGenerator();
        $course = $generator->create_course(['fullname' => 'Kurs „Ümläute“ & "Quotes"']);
        $students = [];
        for ($i = 0; $i < 3; $i++) {
            $students[] = $generator->create_and_enrol($course, 'student', ['lastname' => "O'Brien & Söhne {$i}"]);
        }
        $teacher = $generator->create_and_enrol($course, 'editingteacher');
        $g1 = $generator->create_group(['courseid' => $course->id, 'idnumber' => 'mintqo:ini:1', 'name' => 'A & "B"']);
        $g2 = $generator->create_group(['courseid' => $course->id, 'idnumber' => 'mintqo:ini:2']);
        $generator->create_group_member(['groupid' => $g1->id, 'userid' => $students[0]->id]);
        $generator->create_group_member(['groupid' => $g1->id, 'userid' => $students[1]->id]);
        $generator->create_group_member(['groupid' => $g2->id, 'userid' => $students[2]->id]);
        $old = time() - 100;
        $DB->execute("UPDATE {user_enrolments} SET timemodified = ?", [$old]);
        $DB->execute("UPDATE {enrol} SET timemodified = ?", [$old]);
        $DB->execute("UPDATE {role_assignments} SET timemodified = ?", [$old]);
        $DB->execute("UPDATE {groups_members} SET timeadded = ?", [$old]);
        return [$course, $students, $teacher, $g1, $g2];
    }

    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param array $courseids
     * @param string $cursor
     * @param int $limitnum
     * @param array $full
     * @return array
     */
    protected function enrolments(array $courseids, string $cursor = '', int $limitnum = 1000, array $full = []): array {
        $result = get_enrolments::execute($courseids, $cursor, $limitnum, $full);
        return external_api::clean_returnvalue(get_enrolments::execute_returns(), $result);
    }

    /**
     * The digest computed from rows, as the client does.
     *
     * @param int $courseid
     * @param array $enrolments
     * @param array $members
     * @return array
     */
    protected function digest(int $courseid, array $enrolments, array $members): array {
        $digest = ['courseid' => $courseid, 'enrolments' => 0, 'enrolsum' => 0, 'roles' => 0, 'members' => 0,
            'membersum' => 0];
        foreach ($enrolments as $row) {
            $digest['enrolments']++;
            $digest['enrolsum'] += $row['userid'];
            $digest['roles'] += count($row['roles']);
        }
        foreach ($members as $row) {
            $digest['members']++;
            $digest['membersum'] += $row['groupid'] * $row['userid'];
        }
        return $digest;
    }

    /**
     * Every enrolment with its roles and every membership; the digest equals the one computed from the rows.
     */
    public function test_rows_and_digest(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        [$course, $students, $teacher, $g1, $g2] = $this->setup_course();

        $result = $this->enrolments([$course->id]);

        $roles = array_column($result['enrolments'], 'roles', 'userid');
        $this->assertSame(['student'], $roles[$students[0]->id]);
        $this->assertSame(['editingteacher'], $roles[$teacher->id]);
        $this->assertCount(4, $result['enrolments']);
        foreach ($result['enrolments'] as $row) {
            $this->assertSame(0, $row['status']);
            $this->assertEqualsWithDelta(time() - 100, $row['timemodified'], 2);
        }
        $members = array_map(fn($m) => [$m['groupid'], $m['groupidnumber'], $m['userid']], $result['members']);
        $this->assertEqualsCanonicalizing([
            [(int)$g1->id, 'mintqo:ini:1', (int)$students[0]->id],
            [(int)$g1->id, 'mintqo:ini:1', (int)$students[1]->id],
            [(int)$g2->id, 'mintqo:ini:2', (int)$students[2]->id],
        ], $members);
        $this->assertSame([$this->digest($course->id, $result['enrolments'], $result['members'])], $result['digests']);
        $this->assertFalse($result['hasmore']);

        $next = $this->enrolments([$course->id], $result['nextcursor']);
        $this->assertSame([], $next['enrolments']);
        $this->assertSame([], $next['members']);
        $this->assertSame($result['nextcursor'], $next['nextcursor']);
    }

    /**
     * Pages of two; a suspension and a new role come again with the newest change as timemodified.
     */
    public function test_paging_and_changes(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        [$course, $students] = $this->setup_course();
        $cursor = '';
        $seen = [];
        $pages = 0;
        do {
            $page = $this->enrolments([$course->id], $cursor, 2);
            $seen = array_merge($seen, array_column($page['enrolments'], 'userid'));
            $cursor = $page['nextcursor'];
            $pages++;
        } while ($page['hasmore']);
        $this->assertSame(2, $pages);
        $this->assertCount(4, array_unique($seen));
        $this->assertCount(4, $seen);

        $enrol = $DB->get_record('enrol', ['courseid' => $course->id, 'enrol' => 'manual'], '*', MUST_EXIST);
        $plugin = enrol_get_plugin('manual');
        $plugin->update_user_enrol($enrol, $students[0]->id, ENROL_USER_SUSPENDED);
        $teacherrole = $DB->get_field('role', 'id', ['shortname' => 'teacher']);
        role_assign($teacherrole, $students[1]->id, \context_course::instance($course->id));
        $DB->execute("UPDATE {user_enrolments} SET timemodified = ? WHERE userid = ?", [time() - 10, $students[0]->id]);
        $DB->execute(
            "UPDATE {role_assignments} SET timemodified = ? WHERE userid = ? AND roleid = ?",
            [time() - 10, $students[1]->id, $teacherrole]
        );

        $changed = $this->enrolments([$course->id], $cursor);
        $rows = [];
        foreach ($changed['enrolments'] as $row) {
            $rows[$row['userid']] = [$row['roles'], $row['status']];
        }
        $this->assertSame([
            $students[0]->id => [['student'], 1],
            $students[1]->id => [['student', 'teacher'], 0],
        ], $rows);
    }

    /**
     * An unenrolment and a group removal leave no rows but change the digest; a full read gives every row.
     */
    public function test_digest_shows_deletions_and_full_read(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        [$course, $students, $teacher, $g1] = $this->setup_course();
        $other = $this->getDataGenerator()->create_course();
        $first = $this->enrolments([$course->id, $other->id]);

        $enrol = $DB->get_record('enrol', ['courseid' => $course->id, 'enrol' => 'manual'], '*', MUST_EXIST);
        enrol_get_plugin('manual')->unenrol_user($enrol, $students[2]->id);
        groups_remove_member($g1->id, $students[0]->id);

        $after = $this->enrolments([$course->id, $other->id], $first['nextcursor']);
        $this->assertSame([], $after['enrolments']);
        $this->assertSame([], $after['members']);
        $this->assertNotEquals($first['digests'][0], $after['digests'][0]);
        $this->assertSame($first['digests'][1], $after['digests'][1]);
        $this->assertSame(3, $after['digests'][0]['enrolments']);
        $this->assertSame(1, $after['digests'][0]['members']);

        $full = $this->enrolments([$course->id, $other->id], $after['nextcursor'], 1000, [$course->id]);
        $this->assertEqualsCanonicalizing(
            [(int)$students[0]->id, (int)$students[1]->id, (int)$teacher->id],
            array_column($full['enrolments'], 'userid')
        );
        $this->assertSame(
            [[(int)$g1->id, (int)$students[1]->id]],
            array_map(fn($m) => [$m['groupid'], $m['userid']], $full['members'])
        );
        $this->assertSame($full['digests'][0], $this->digest($course->id, $full['enrolments'], $full['members']));
        $this->assertSame($after['nextcursor'], $full['nextcursor']);
    }

    /**
     * A student (no moodle/course:enrolreview) cannot read; fullcourseids must be among courseids.
     */
    public function test_checks(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        [$course] = $this->setup_course();
        $other = $this->getDataGenerator()->create_course();
        try {
            $this->enrolments([$course->id], '', 10, [$other->id]);
            $this->fail('a full course outside courseids accepted');
        } catch (\invalid_parameter_exception $e) {
            $this->assertSame('invalidparameter', $e->errorcode);
        }
        try {
            $this->enrolments([$course->id], 'c1:1:1:1:1');
            $this->fail('a cursor of another function accepted');
        } catch (\invalid_parameter_exception $e) {
            $this->assertSame('invalidparameter', $e->errorcode);
        }
        $student = $this->getDataGenerator()->create_and_enrol($course, 'student');
        $this->setUser($student);
        $this->expectException(\required_capability_exception::class);
        $this->enrolments([$course->id]);
    }
}
