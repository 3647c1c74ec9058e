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
use core_privacy\local\metadata\types\external_location;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;
use core_privacy\tests\provider_testcase;

/**
 * Tests of the privacy provider: nothing stored, nothing to export or delete, one external location.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(provider::class)]
final class provider_test extends provider_testcase {
    /**
     * A course with a page completed by a student and the student's finished course: data of other components.
     *
     * @return array [course, student]
     */
    protected function setup_data(): array {
        global $CFG;
        require_once($CFG->libdir . '/completionlib.php');
        $this->setAdminUser();
        $generator = $this->getDataGenerator();
        $course = $generator->create_course(['enablecompletion' => 1]);
        $page = $generator->create_module('page', ['course' => $course->id, 'completion' => COMPLETION_TRACKING_MANUAL]);
        $student = $generator->create_and_enrol($course, 'student');
        $cm = get_coursemodule_from_id('page', $page->cmid, $course->id, false, MUST_EXIST);
        (new \completion_info($course))->update_state($cm, COMPLETION_COMPLETE, $student->id);
        return [$course, $student];
    }

    /**
     * The metadata names the sync service as external location with every field it receives, all with strings.
     */
    public function test_metadata_declares_the_sync_service(): void {
        $collection = provider::get_metadata(new collection('local_mintqo'));

        $items = $collection->get_collection();
        $this->assertCount(1, $items);
        $location = reset($items);
        $this->assertInstanceOf(external_location::class, $location);
        $this->assertSame('mintqo_sync', $location->get_name());
        $fields = $location->get_privacy_fields();
        $this->assertSame(['userid', 'fullname', 'email', 'enrolments', 'completion', 'quizresponses'], array_keys($fields));
        $strings = get_string_manager();
        foreach (array_merge(array_values($fields), [$location->get_summary()]) as $identifier) {
            $this->assertTrue($strings->string_exists($identifier, 'local_mintqo'), $identifier);
        }
    }

    /**
     * The plugin holds no user data: no contexts, no users, and an export writes nothing.
     */
    public function test_export_finds_nothing(): void {
        $this->resetAfterTest();
        [$course, $student] = $this->setup_data();
        $context = \context_course::instance($course->id);

        $this->assertEmpty(provider::get_contexts_for_userid($student->id)->get_contextids());
        $userlist = new userlist($context, 'local_mintqo');
        provider::get_users_in_context($userlist);
        $this->assertEmpty($userlist->get_userids());

        $this->export_all_data_for_user($student->id, 'local_mintqo');
        $this->assertFalse(writer::with_context($context)->has_any_data());
        $this->assertFalse(writer::with_context(\context_system::instance())->has_any_data());
        $this->assertFalse(writer::with_context(\context_user::instance($student->id))->has_any_data());
    }

    /**
     * Deleting through this provider removes nothing of other components' data (the quiz, completion and
     * enrolment providers own it) and raises no error.
     */
    public function test_delete_leaves_other_components_data(): void {
        global $DB;
        $this->resetAfterTest();
        [$course, $student] = $this->setup_data();
        $context = \context_course::instance($course->id);
        $before = $DB->count_records('course_modules_completion', ['userid' => $student->id]);
        $this->assertSame(1, $before);

        provider::delete_data_for_user(new approved_contextlist($student, 'local_mintqo', [$context->id]));
        provider::delete_data_for_users(new approved_userlist($context, 'local_mintqo', [$student->id]));
        provider::delete_data_for_all_users_in_context($context);

        $this->assertSame($before, $DB->count_records('course_modules_completion', ['userid' => $student->id]));
        $this->assertTrue(is_enrolled($context, $student));
    }
}
