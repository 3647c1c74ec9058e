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
     * selfcompletion = 0: participants cannot mark attendance themselves (refused, and a label shows no button); the
     * coordinator (editing teacher) sets it through the override; a repeat changes nothing.
     */
    public function test_attendance_only_by_those_who_saw_it(): void {
        global $DB, $PAGE;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);
        $student = $this->getDataGenerator()->create_and_enrol($course, 'student');
        $coordinator = $this->getDataGenerator()->create_and_enrol($course, 'editingteacher');
        $attendance = ['section' => 1, 'modname' => 'label', 'idnumber' => 'mintqo:t:ws1-teilnahme',
            'name' => 'Teilnahme an Workshop 1', 'intro' => '<p>Ihre Regionalkoordination trägt die Anwesenheit ein.</p>',
            'completion' => 1, 'selfcompletion' => 0];
        $selfmarked = ['idnumber' => 'mintqo:t:reflexion', 'name' => 'Reflexion', 'selfcompletion' => 1] + $attendance;
        $staffpage = ['modname' => 'page', 'idnumber' => 'mintqo:t:protokoll', 'name' => 'Protokoll',
            'content' => '<p>x</p>'] + $attendance;

        $result = $this->upsert($course->id, [$attendance, $selfmarked, $staffpage]);

        [$cmid, $selfcmid, $pagecmid] = array_column($result['activities'], 'cmid');
        foreach ([$cmid, $pagecmid] as $staffcmid) {
            $context = \context_module::instance($staffcmid);
            foreach (array_merge(get_archetype_roles('student'), get_archetype_roles('user')) as $role) {
                $this->assertEquals(CAP_PREVENT, $DB->get_field('role_capabilities', 'permission', [
                    'contextid' => $context->id, 'roleid' => $role->id, 'capability' => 'moodle/course:togglecompletion']));
            }
        }
        $context = \context_module::instance($cmid);
        $this->assertFalse($DB->record_exists('role_capabilities', [
            'contextid' => \context_module::instance($selfcmid)->id, 'capability' => 'moodle/course:togglecompletion']));
        // The label: a rule nobody can meet (a label has no page to view); the page keeps manual completion.
        $label = $DB->get_record('course_modules', ['id' => $cmid], '*', MUST_EXIST);
        $this->assertEquals(COMPLETION_TRACKING_AUTOMATIC, $label->completion);
        $this->assertEquals(COMPLETION_VIEW_REQUIRED, $label->completionview);
        $this->assertEquals(COMPLETION_TRACKING_MANUAL, $DB->get_field('course_modules', 'completion', ['id' => $pagecmid]));
        $this->assertEquals(COMPLETION_TRACKING_MANUAL, $DB->get_field('course_modules', 'completion', ['id' => $selfcmid]));

        // The participant: no capability, no button on the course page, and Moodle refuses the call.
        $this->setUser($student);
        $this->assertFalse(has_capability('moodle/course:togglecompletion', $context));
        $this->assertTrue(has_capability('moodle/course:togglecompletion', \context_module::instance($selfcmid)));
        $PAGE->set_context(\context_course::instance($course->id));
        $cminfo = get_fast_modinfo($course->id, $student->id)->get_cm($cmid);
        $details = \core_completion\cm_completion_details::get_instance($cminfo, $student->id);
        $this->assertFalse($details->show_manual_completion());
        $this->assertTrue($details->is_automatic());
        $selfdetails = \core_completion\cm_completion_details::get_instance(
            get_fast_modinfo($course->id, $student->id)->get_cm($selfcmid),
            $student->id
        );
        $this->assertTrue($selfdetails->show_manual_completion(), 'an ordinary label keeps its button');
        foreach ([$cmid, $pagecmid] as $staffcmid) {
            try {
                \core_completion_external::update_activity_completion_status_manually($staffcmid, true);
                $this->fail('a participant must not mark attendance');
            } catch (\required_capability_exception $e) {
                $this->assertSame('nopermissions', $e->errorcode);
            }
        }
        $completion = new \completion_info($course);
        $completion->update_state($cminfo, COMPLETION_UNKNOWN, $student->id);
        $state = $completion->get_data($cminfo, false, $student->id)->completionstate;
        $this->assertEquals(COMPLETION_INCOMPLETE, $state, 'a recalculation does not complete the label');

        // The coordinator: the override, as in Moodle's completion report and through attendance import.
        $this->setUser($coordinator);
        foreach ([$cmid, $pagecmid] as $staffcmid) {
            $override = \core_completion_external::override_activity_completion_status(
                $student->id,
                $staffcmid,
                COMPLETION_COMPLETE
            );
            $this->assertEquals(COMPLETION_COMPLETE, $override['state']);
            $this->assertEquals(COMPLETION_COMPLETE, $DB->get_field(
                'course_modules_completion',
                'completionstate',
                ['coursemoduleid' => $staffcmid, 'userid' => $student->id]
            ));
        }

        $this->setAdminUser();
        $again = $this->upsert($course->id, [$attendance, $selfmarked, $staffpage]);
        $this->assertSame(array_fill(0, 3, helper::STATUS_UNCHANGED), array_column($again['activities'], 'status'));

        $open = $this->upsert($course->id, [['selfcompletion' => 1] + $attendance]);
        $this->assertSame(helper::STATUS_UPDATED, $open['activities'][0]['status']);
        $this->assertFalse($DB->record_exists('role_capabilities', [
            'contextid' => $context->id, 'capability' => 'moodle/course:togglecompletion']));
        $this->assertEquals(COMPLETION_TRACKING_MANUAL, $DB->get_field('course_modules', 'completion', ['id' => $cmid]));
    }

    /**
     * Dates (expected completion, submissions from) and the group submission are stored and idempotent; the
     * expected completion date is a calendar event.
     */
    public function test_dates_and_group_submission(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['enablecompletion' => 1]);
        $expected = usergetmidnight(time()) + 14 * DAYSECS;
        $assign = ['section' => 2, 'modname' => 'assign', 'idnumber' => 'mintqo:t:plan', 'name' => 'Unser Maßnahmenplan',
            'completion' => 2, 'completionsubmit' => 1, 'duedate' => $expected + DAYSECS,
            'allowsubmissionsfromdate' => $expected - 7 * DAYSECS, 'teamsubmission' => 1, 'completionexpected' => $expected];
        $page = ['section' => 1, 'modname' => 'page', 'idnumber' => 'mintqo:t:lesen', 'name' => 'Lesen',
            'content' => '<p>x</p>', 'completion' => 2, 'completionview' => 1, 'completionexpected' => $expected];

        $result = $this->upsert($course->id, [$assign, $page]);

        [$assigncm, $pagecm] = array_column($result['activities'], 'cmid');
        $record = $DB->get_record('assign', ['id' => $result['activities'][0]['instanceid']], '*', MUST_EXIST);
        $this->assertEquals(1, $record->teamsubmission);
        $this->assertEquals(0, $record->requireallteammemberssubmit);
        $this->assertEquals(0, $record->preventsubmissionnotingroup);
        $this->assertEquals(0, $record->teamsubmissiongroupingid);
        $this->assertEquals($expected - 7 * DAYSECS, $record->allowsubmissionsfromdate);
        foreach ([$assigncm, $pagecm] as $cmid) {
            $this->assertEquals($expected, $DB->get_field('course_modules', 'completionexpected', ['id' => $cmid]));
        }
        $this->assertTrue($DB->record_exists('event', ['courseid' => $course->id, 'modulename' => 'page',
            'eventtype' => \core_completion\api::COMPLETION_EVENT_TYPE_DATE_COMPLETION_EXPECTED, 'timestart' => $expected]));

        $again = $this->upsert($course->id, [$assign, $page]);
        $this->assertSame([helper::STATUS_UNCHANGED, helper::STATUS_UNCHANGED], array_column($again['activities'], 'status'));

        $page['completionexpected'] += DAYSECS;
        $assign['teamsubmission'] = 0;
        $moved = $this->upsert($course->id, [$assign, $page]);
        $this->assertSame([helper::STATUS_UPDATED, helper::STATUS_UPDATED], array_column($moved['activities'], 'status'));
        $this->assertEquals($expected + DAYSECS, $DB->get_field('course_modules', 'completionexpected', ['id' => $pagecm]));
        $this->assertEquals(0, $DB->get_field('assign', 'teamsubmission', ['id' => $result['activities'][0]['instanceid']]));
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
        foreach ([['selfcompletion' => 2], ['teamsubmission' => -1], ['completion' => 3], ['completionexpected' => -5]] as $bad) {
            try {
                $this->upsert($course->id, [$bad + $page]);
                $this->fail('invalidparameter expected for ' . json_encode($bad));
            } catch (\invalid_parameter_exception $e) {
                $this->assertSame('invalidparameter', $e->errorcode);
            }
        }
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
