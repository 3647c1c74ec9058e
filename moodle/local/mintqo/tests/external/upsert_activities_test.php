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
 * Tests of local_mintqo_upsert_activities: page, url, label and assign by idnumber, course completion criteria.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(upsert_activities::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(\local_mintqo\local\activity_manager::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(\local_mintqo\local\completion_criteria_manager::class)]
final class upsert_activities_test extends \advanced_testcase {
    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param int $courseid
     * @param array $activities
     * @param array $criteria idnumbers
     * @return array
     */
    protected function upsert(int $courseid, array $activities, array $criteria = []): array {
        $criteria = array_map(fn($idnumber) => ['idnumber' => $idnumber], $criteria);
        $result = upsert_activities::execute($courseid, $activities, $criteria);
        return external_api::clean_returnvalue(upsert_activities::execute_returns(), $result);
    }

    /**
     * One activity of each supported type, as the curriculum templates describe them.
     *
     * @return array
     */
    protected static function activities(): array {
        return [
            ['section' => 1, 'modname' => 'page', 'idnumber' => 'mintqo:t:page', 'name' => 'Ablauf & Ziele',
                'content' => '<p>Inhalt „Ü“</p>', 'completion' => 2, 'completionview' => 1],
            ['section' => 1, 'modname' => 'url', 'idnumber' => 'mintqo:t:url', 'name' => 'Orientierungsrahmen',
                'externalurl' => 'https://example.org/rahmen.pdf'],
            ['section' => 2, 'modname' => 'label', 'idnumber' => 'mintqo:t:label', 'name' => 'Hinweis',
                'intro' => '<p>Hinweis</p>'],
            ['section' => 2, 'modname' => 'assign', 'idnumber' => 'mintqo:t:assign', 'name' => 'Unser Maßnahmenplan',
                'intro' => '<p>Laden Sie den Plan hoch.</p>', 'completion' => 2, 'completionsubmit' => 1,
                'duedate' => 1767225600],
        ];
    }

    /**
     * All four types are created with Moodle's own API in the requested sections; criteria are set.
     */
    public function test_creates_activities_and_completion_criteria(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1, 'numsections' => 0]);

        $result = $this->upsert($course->id, self::activities(), ['mintqo:t:page', 'mintqo:t:assign']);

        $this->assertSame(array_fill(0, 4, helper::STATUS_CREATED), array_column($result['activities'], 'status'));
        $modinfo = get_fast_modinfo($course->id);
        foreach ($result['activities'] as $index => $row) {
            $cm = $modinfo->get_cm($row['cmid']);
            $this->assertSame(self::activities()[$index]['modname'], $cm->modname);
            $this->assertSame($row['idnumber'], $cm->idnumber);
            $this->assertEquals(self::activities()[$index]['section'], $cm->sectionnum);
            $this->assertEquals($row['instanceid'], $cm->instance);
        }
        $page = $DB->get_record('page', ['id' => $result['activities'][0]['instanceid']], '*', MUST_EXIST);
        $this->assertSame('<p>Inhalt „Ü“</p>', $page->content);
        $url = $DB->get_field('url', 'externalurl', ['id' => $result['activities'][1]['instanceid']]);
        $this->assertSame('https://example.org/rahmen.pdf', $url);
        $this->assertEquals(1767225600, $DB->get_field('assign', 'duedate', ['id' => $result['activities'][3]['instanceid']]));

        $this->assertSame(['status' => helper::STATUS_CREATED, 'count' => 2], $result['completioncriteria']);
        $criteria = $DB->get_fieldset_select('course_completion_criteria', 'moduleinstance', 'course = ?', [$course->id]);
        sort($criteria);
        $this->assertEquals([$result['activities'][0]['cmid'], $result['activities'][3]['cmid']], $criteria);
    }

    /**
     * Repeating the request changes nothing; changing a field updates only that activity.
     */
    public function test_idempotent_by_idnumber(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);
        $first = $this->upsert($course->id, self::activities(), ['mintqo:t:page']);
        $cms = $DB->count_records('course_modules', ['course' => $course->id]);

        $second = $this->upsert($course->id, self::activities(), ['mintqo:t:page']);

        $this->assertSame(array_fill(0, 4, helper::STATUS_UNCHANGED), array_column($second['activities'], 'status'));
        $this->assertSame(array_column($first['activities'], 'cmid'), array_column($second['activities'], 'cmid'));
        $this->assertSame(helper::STATUS_UNCHANGED, $second['completioncriteria']['status']);
        $this->assertSame($cms, $DB->count_records('course_modules', ['course' => $course->id]));

        $changed = self::activities();
        $changed[0]['name'] = 'Ablauf und Ziele';
        $third = $this->upsert($course->id, $changed);
        $this->assertSame(
            [helper::STATUS_UPDATED, helper::STATUS_UNCHANGED, helper::STATUS_UNCHANGED, helper::STATUS_UNCHANGED],
            array_column($third['activities'], 'status')
        );
        $this->assertSame('Ablauf und Ziele', $DB->get_field('page', 'name', ['id' => $first['activities'][0]['instanceid']]));
        $this->assertSame(['status' => helper::STATUS_UNCHANGED, 'count' => 0], $third['completioncriteria']);
    }

    /**
     * An editing teacher without local/mintqo:provision cannot create activities.
     */
    public function test_requires_provision_capability(): void {
        $this->resetAfterTest();
        $course = $this->getDataGenerator()->create_course();
        $this->setUser($this->getDataGenerator()->create_and_enrol($course, 'editingteacher'));

        $this->expectException(\required_capability_exception::class);
        $this->upsert($course->id, [self::activities()[0]]);
    }

    /**
     * Unsupported types, type changes, bad sections, duplicates and bad criteria are refused; nothing is left.
     */
    public function test_bad_parameters(): void {
        global $DB;
        $this->resetAfterTest();
        // The test itself must not run inside a transaction, or the function's rollbacks could not be seen.
        $this->preventResetByRollback();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);
        $this->getDataGenerator()->create_module('forum', ['course' => $course->id, 'idnumber' => 'mintqo:t:forum']);
        $page = self::activities()[0];
        $cms = $DB->count_records('course_modules', ['course' => $course->id]);

        $cases = [
            'unsupportedmodule' => [[['modname' => 'forum', 'idnumber' => 'mintqo:t:new'] + $page], []],
            'activitytypemismatch' => [[['idnumber' => 'mintqo:t:forum'] + $page], []],
            'invalidsection' => [[['section' => -1] + $page], []],
            'invalidparameter' => [[$page, $page], []],
            'invalidcompletioncriteria' => [[$page], ['mintqo:t:nothere']],
        ];
        foreach ($cases as $errorcode => [$activities, $criteria]) {
            try {
                $this->upsert($course->id, $activities, $criteria);
                $this->fail("{$errorcode} expected");
            } catch (\moodle_exception $e) {
                $this->assertSame($errorcode, $e->errorcode);
            }
        }
        // A criterion without completion tracking is refused too, and rolls back the activity of the same call.
        try {
            $this->upsert($course->id, [['completion' => 0] + $page], ['mintqo:t:page']);
            $this->fail('invalidcompletioncriteria expected');
        } catch (\moodle_exception $e) {
            $this->assertSame('invalidcompletioncriteria', $e->errorcode);
        }
        $this->assertSame($cms, $DB->count_records('course_modules', ['course' => $course->id]));

        $_POST['sesskey'] = sesskey();
        $response = external_api::call_external_function('local_mintqo_upsert_activities', [
            'courseid' => $course->id, 'activities' => [['modname' => 'page', 'idnumber' => 'x', 'name' => 'x']],
        ]);
        $this->assertTrue($response['error']);
        $this->assertSame('invalidparameter', $response['exception']->errorcode);
    }
}
