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
 * Tests of local_mintqo_configure_courses: the announcements forum's German name, the welcome message.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(configure_courses::class)]
final class configure_courses_test extends \advanced_testcase {
    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param array $courses
     * @return array
     */
    protected function configure(array $courses): array {
        $result = configure_courses::execute($courses);
        return external_api::clean_returnvalue(configure_courses::execute_returns(), $result);
    }

    /**
     * The course's news forum record.
     *
     * @param int $courseid
     * @return \stdClass
     */
    protected function news_forum(int $courseid): \stdClass {
        global $DB;
        return $DB->get_record('forum', ['course' => $courseid, 'type' => 'news'], '*', MUST_EXIST);
    }

    /**
     * Whether this Moodle's manual enrolment has a course welcome message (4.5 and later).
     *
     * @return bool
     */
    protected static function has_welcome_message(): bool {
        return method_exists(enrol_get_plugin('manual'), 'send_course_welcome_message_to_user');
    }

    /**
     * The news forum gets its German name and intro (created when missing), the welcome message goes off;
     * a second identical call changes nothing.
     */
    public function test_names_the_news_forum_and_switches_the_welcome_message(): void {
        global $DB, $CFG;
        require_once($CFG->dirroot . '/mod/forum/lib.php');
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $other = $this->getDataGenerator()->create_course();
        forum_get_course_forum($course->id, 'news');
        $this->assertFalse($DB->record_exists('forum', ['course' => $other->id, 'type' => 'news']));

        $request = [
            ['courseid' => $course->id, 'newsforumname' => 'Ankündigungen', 'newsforumintro' => '<p>Neuigkeiten & „Termine“</p>',
                'sendwelcomemessage' => 0],
            ['courseid' => $other->id, 'newsforumname' => 'Ankündigungen', 'sendwelcomemessage' => 1],
        ];
        $result = $this->configure($request);

        $this->assertSame([
            ['courseid' => (int)$course->id, 'status' => helper::STATUS_UPDATED],
            ['courseid' => (int)$other->id, 'status' => helper::STATUS_UPDATED],
        ], $result['courses']);
        $forum = $this->news_forum($course->id);
        $this->assertSame('Ankündigungen', $forum->name);
        $this->assertSame('<p>Neuigkeiten & „Termine“</p>', $forum->intro);
        $this->assertSame('Ankündigungen', $this->news_forum($other->id)->name, 'created when missing');
        $modinfo = get_fast_modinfo($course->id);
        $names = array_map(fn($cm) => $cm->name, $modinfo->get_instances_of('forum'));
        $this->assertContains('Ankündigungen', $names, 'the course cache shows the new name');

        $instance = $DB->get_record('enrol', ['courseid' => $course->id, 'enrol' => 'manual'], '*', MUST_EXIST);
        $otherinstance = $DB->get_record('enrol', ['courseid' => $other->id, 'enrol' => 'manual'], '*', MUST_EXIST);
        if (self::has_welcome_message()) {
            $this->assertEquals(ENROL_DO_NOT_SEND_EMAIL, $instance->customint1);
            $this->assertNotEquals(ENROL_DO_NOT_SEND_EMAIL, $otherinstance->customint1);
        }

        $again = $this->configure($request);
        $this->assertSame([helper::STATUS_UNCHANGED, helper::STATUS_UNCHANGED], array_column($again['courses'], 'status'));

        if (self::has_welcome_message()) {
            // Switching the message back on is a change of its own; the forum stays as it is.
            $request[0]['sendwelcomemessage'] = 1;
            $on = $this->configure([$request[0]]);
            $this->assertSame(helper::STATUS_UPDATED, $on['courses'][0]['status']);
            $this->assertEquals(
                ENROL_SEND_EMAIL_FROM_COURSE_CONTACT,
                $DB->get_field('enrol', 'customint1', ['id' => $instance->id])
            );
        }
        // Without newsforumintro the description stays as it is.
        unset($request[0]['newsforumintro']);
        $request[0]['newsforumname'] = 'Ankündigungen der Regionalkoordination';
        $renamed = $this->configure([$request[0]]);
        $this->assertSame(helper::STATUS_UPDATED, $renamed['courses'][0]['status']);
        $this->assertSame('<p>Neuigkeiten & „Termine“</p>', $this->news_forum($course->id)->intro);
    }

    /**
     * An editing teacher without local/mintqo:provision cannot configure the course.
     */
    public function test_requires_provision_capability(): void {
        $this->resetAfterTest();
        $course = $this->getDataGenerator()->create_course();
        $this->setUser($this->getDataGenerator()->create_and_enrol($course, 'editingteacher'));

        $this->expectException(\required_capability_exception::class);
        $this->configure([['courseid' => $course->id, 'newsforumname' => 'Ankündigungen', 'sendwelcomemessage' => 0]]);
    }

    /**
     * A locked course: the editing teacher (a coordinator) can no longer unenrol anyone, themselves included;
     * unlocking gives Moodle's default back.
     */
    public function test_locked_enrolments_cannot_be_removed_by_the_editing_teacher(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $coordinator = $this->getDataGenerator()->create_and_enrol($course, 'editingteacher');
        $context = \context_course::instance($course->id);
        $base = ['courseid' => $course->id, 'newsforumname' => 'Ankündigungen', 'sendwelcomemessage' => 0];
        $this->configure([$base]);
        $this->assertTrue(has_capability('enrol/manual:unenrol', $context, $coordinator));

        $this->assertSame('updated', $this->configure([['lockenrolments' => 1] + $base])['courses'][0]['status']);
        accesslib_clear_all_caches_for_unit_testing();
        $this->assertFalse(has_capability('enrol/manual:unenrol', $context, $coordinator));
        $this->assertTrue(has_capability('moodle/course:update', $context, $coordinator));
        $this->assertSame('unchanged', $this->configure([['lockenrolments' => 1] + $base])['courses'][0]['status']);

        $this->assertSame('updated', $this->configure([['lockenrolments' => 0] + $base])['courses'][0]['status']);
        accesslib_clear_all_caches_for_unit_testing();
        $this->assertTrue(has_capability('enrol/manual:unenrol', $context, $coordinator));
    }

    /**
     * Empty names, bad flags, a course twice, the site course and a missing course are refused.
     */
    public function test_bad_parameters(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $good = ['courseid' => $course->id, 'newsforumname' => 'Ankündigungen', 'sendwelcomemessage' => 0];
        $cases = [
            [['newsforumname' => '  '] + $good],
            [['newsforumname' => str_repeat('x', 256)] + $good],
            [['sendwelcomemessage' => 2] + $good],
            [['lockenrolments' => 2] + $good],
            [$good, $good],
            [['courseid' => SITEID] + $good],
        ];
        foreach ($cases as $index => $courses) {
            try {
                $this->configure($courses);
                $this->fail("case {$index}: invalidparameter expected");
            } catch (\invalid_parameter_exception $e) {
                $this->assertSame('invalidparameter', $e->errorcode, "case {$index}");
            }
        }
        $this->expectException(\dml_missing_record_exception::class);
        $this->configure([['courseid' => $course->id + 1000] + $good]);
    }
}
