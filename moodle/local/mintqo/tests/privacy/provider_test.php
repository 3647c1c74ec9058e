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

namespace local_mintqo\privacy;

use core_privacy\local\metadata\collection;
use core_privacy\local\metadata\types\database_table;
use core_privacy\local\metadata\types\external_location;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;
use core_privacy\tests\provider_testcase;
use local_mintqo\local\certificates;

/**
 * Tests of the privacy provider: the certificate records (export, and deletion that keeps the code without the
 * person) and the external location of the sync service.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(provider::class)]
final class provider_test extends provider_testcase {
    /**
     * Three holders (one with two cohorts) and a record already without a person; a course with a completed page
     * of a student (data of other components).
     *
     * @return array [users by name, course, student]
     */
    protected function setup_data(): array {
        global $CFG, $DB;
        require_once($CFG->libdir . '/completionlib.php');
        $this->setAdminUser();
        $generator = $this->getDataGenerator();
        $users = [];
        foreach (['ada', 'ben', 'cem'] as $name) {
            $users[$name] = $generator->create_user(['firstname' => ucfirst($name)]);
        }
        $records = [
            ['AAAA-AAAA-AAA1', $users['ada']->id, 'Ada Öztürk', '2025'],
            ['AAAA-AAAA-AAA2', $users['ada']->id, 'Ada Öztürk', '2026'],
            ['BBBB-BBBB-BBB1', $users['ben']->id, 'Ben Groß', '2025'],
            ['CCCC-CCCC-CCC1', $users['cem']->id, 'Cem Weiß', '2025'],
            ['DDDD-DDDD-DDD1', null, '', '2024'],
        ];
        foreach ($records as [$code, $userid, $fullname, $cohort]) {
            $DB->insert_record(certificates::TABLE, (object)['code' => $code, 'userid' => $userid, 'fullname' => $fullname,
                'cohort' => $cohort, 'timeissued' => 1763900000, 'revoked' => $code === 'AAAA-AAAA-AAA2' ? 1 : 0,
                'timerevoked' => $code === 'AAAA-AAAA-AAA2' ? 1763990000 : 0, 'timecreated' => 1763900000,
                'timemodified' => 1763900000]);
        }
        $course = $generator->create_course(['enablecompletion' => 1]);
        $page = $generator->create_module('page', ['course' => $course->id, 'completion' => COMPLETION_TRACKING_MANUAL]);
        $student = $generator->create_and_enrol($course, 'student');
        $cm = get_coursemodule_from_id('page', $page->cmid, $course->id, false, MUST_EXIST);
        (new \completion_info($course))->update_state($cm, COMPLETION_COMPLETE, $student->id);
        return [$users, $course, $student];
    }

    /**
     * Codes, names and users of the records, by code.
     *
     * @return array code => [userid, fullname]
     */
    protected function records(): array {
        global $DB;
        $out = [];
        foreach ($DB->get_records(certificates::TABLE, null, 'code') as $record) {
            $out[$record->code] = [$record->userid === null ? null : (int)$record->userid, $record->fullname];
        }
        return $out;
    }

    /**
     * The metadata declares the certificate table and the sync service, every field with a string.
     */
    public function test_metadata(): void {
        $collection = provider::get_metadata(new collection('local_mintqo'));

        $items = $collection->get_collection();
        $this->assertCount(2, $items);
        [$table, $location] = array_values($items);
        $this->assertInstanceOf(database_table::class, $table);
        $this->assertSame(certificates::TABLE, $table->get_name());
        $this->assertSame(
            ['userid', 'fullname', 'code', 'cohort', 'timeissued', 'revoked'],
            array_keys($table->get_privacy_fields())
        );
        $this->assertInstanceOf(external_location::class, $location);
        $this->assertSame('mintqo_sync', $location->get_name());
        $this->assertSame(
            ['userid', 'fullname', 'email', 'enrolments', 'completion', 'quizresponses'],
            array_keys($location->get_privacy_fields())
        );
        $strings = get_string_manager();
        foreach ($items as $item) {
            foreach (array_merge(array_values($item->get_privacy_fields()), [$item->get_summary()]) as $identifier) {
                $this->assertTrue($strings->string_exists($identifier, 'local_mintqo'), $identifier);
            }
        }
    }

    /**
     * A holder's data is in the system context; someone without a certificate has none.
     */
    public function test_contexts_and_users(): void {
        $this->resetAfterTest();
        [$users, $course, $student] = $this->setup_data();
        $system = \context_system::instance();

        $this->assertSame([(int)$system->id], array_map('intval', provider::get_contexts_for_userid($users['ada']->id)
            ->get_contextids()));
        $this->assertEmpty(provider::get_contexts_for_userid($student->id)->get_contextids());

        $userlist = new userlist($system, 'local_mintqo');
        provider::get_users_in_context($userlist);
        $expected = [(int)$users['ada']->id, (int)$users['ben']->id, (int)$users['cem']->id];
        $actual = array_map('intval', $userlist->get_userids());
        sort($expected);
        sort($actual);
        $this->assertSame($expected, $actual);

        $courselist = new userlist(\context_course::instance($course->id), 'local_mintqo');
        provider::get_users_in_context($courselist);
        $this->assertEmpty($courselist->get_userids());
    }

    /**
     * The export holds the holder's own certificates (both cohorts, the revoked one marked), nobody else's.
     */
    public function test_export(): void {
        $this->resetAfterTest();
        [$users, $course, $student] = $this->setup_data();
        $system = \context_system::instance();

        $this->export_all_data_for_user($users['ada']->id, 'local_mintqo');
        $writer = writer::with_context($system);
        $this->assertTrue($writer->has_any_data());
        $data = $writer->get_data([get_string('privacy:certificates', 'local_mintqo')]);
        $this->assertSame(['AAAA-AAAA-AAA1', 'AAAA-AAAA-AAA2'], array_column($data->certificates, 'code'));
        $this->assertSame(['Ada Öztürk', 'Ada Öztürk'], array_column($data->certificates, 'fullname'));
        $this->assertSame(['2025', '2026'], array_column($data->certificates, 'cohort'));
        $this->assertSame([get_string('no'), get_string('yes')], array_column($data->certificates, 'revoked'));

        writer::reset();
        $this->export_all_data_for_user($student->id, 'local_mintqo');
        $this->assertFalse(writer::with_context($system)->has_any_data());
        $this->assertFalse(writer::with_context(\context_course::instance($course->id))->has_any_data());
    }

    /**
     * Deleting one user keeps their records without user and name (the codes still answer); others stay.
     */
    public function test_delete_for_user(): void {
        $this->resetAfterTest();
        [$users] = $this->setup_data();
        $system = \context_system::instance();

        provider::delete_data_for_user(new approved_contextlist($users['ada'], 'local_mintqo', [$system->id]));

        $records = $this->records();
        $this->assertSame([null, ''], $records['AAAA-AAAA-AAA1']);
        $this->assertSame([null, ''], $records['AAAA-AAAA-AAA2']);
        $this->assertSame([(int)$users['ben']->id, 'Ben Groß'], $records['BBBB-BBBB-BBB1']);
        $this->assertCount(5, $records);
        $this->assertNotNull(certificates::find('AAAA-AAAA-AAA1'));
        $this->assertEmpty(provider::get_contexts_for_userid($users['ada']->id)->get_contextids());
    }

    /**
     * Deleting several users of the system context; a course context deletes nothing.
     */
    public function test_delete_for_users(): void {
        $this->resetAfterTest();
        [$users, $course] = $this->setup_data();
        $system = \context_system::instance();

        provider::delete_data_for_users(new approved_userlist(
            \context_course::instance($course->id),
            'local_mintqo',
            [$users['ben']->id]
        ));
        $this->assertSame([(int)$users['ben']->id, 'Ben Groß'], $this->records()['BBBB-BBBB-BBB1']);

        provider::delete_data_for_users(new approved_userlist($system, 'local_mintqo', [$users['ben']->id, $users['cem']->id]));
        $records = $this->records();
        $this->assertSame([null, ''], $records['BBBB-BBBB-BBB1']);
        $this->assertSame([null, ''], $records['CCCC-CCCC-CCC1']);
        $this->assertSame([(int)$users['ada']->id, 'Ada Öztürk'], $records['AAAA-AAAA-AAA1']);
    }

    /**
     * Deleting the system context keeps every record without person; other components' data stays untouched.
     */
    public function test_delete_for_context(): void {
        global $DB;
        $this->resetAfterTest();
        [$users, $course, $student] = $this->setup_data();
        $before = $DB->count_records('course_modules_completion', ['userid' => $student->id]);

        provider::delete_data_for_all_users_in_context(\context_course::instance($course->id));
        $this->assertSame('Ben Groß', $this->records()['BBBB-BBBB-BBB1'][1]);

        provider::delete_data_for_all_users_in_context(\context_system::instance());
        foreach ($this->records() as $code => $record) {
            $this->assertSame([null, ''], $record, $code);
        }
        $this->assertSame(5, $DB->count_records(certificates::TABLE));
        $this->assertSame($before, $DB->count_records('course_modules_completion', ['userid' => $student->id]));
        $this->assertTrue(is_enrolled(\context_course::instance($course->id), $student));
        $this->assertNotEmpty($users);
    }
}
