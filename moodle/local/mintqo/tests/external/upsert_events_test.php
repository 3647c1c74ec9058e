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
 * Tests of local_mintqo_upsert_events: course calendar events by idnumber.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(upsert_events::class)]
final class upsert_events_test extends \advanced_testcase {
    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param int $courseid
     * @param array $events
     * @return array
     */
    protected function upsert(int $courseid, array $events): array {
        $result = upsert_events::execute($courseid, $events);
        return external_api::clean_returnvalue(upsert_events::execute_returns(), $result);
    }

    /**
     * Two workshops of a regional cycle, a week and two weeks from now.
     *
     * @return array
     */
    protected static function events(): array {
        $start = usergetmidnight(time()) + 7 * DAYSECS + 10 * HOURSECS;
        return [
            ['idnumber' => 'mintqo:event:2025:trier:ws1', 'name' => 'Workshop 1: Auftakt & Ziele',
                'description' => '<p>Bitte Laptop mitbringen.</p>', 'timestart' => $start, 'timeduration' => 6 * HOURSECS,
                'location' => 'Trier, Haus der Jugend'],
            ['idnumber' => 'mintqo:event:2025:trier:ws2', 'name' => 'Workshop 2', 'timestart' => $start + 7 * DAYSECS],
        ];
    }

    /**
     * Events are created as course events, show in a participant's upcoming events, and a repeat changes nothing;
     * a moved date updates only that event.
     */
    public function test_creates_course_events_participants_see(): void {
        global $DB, $CFG;
        require_once($CFG->dirroot . '/calendar/lib.php');
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        $student = $this->getDataGenerator()->create_and_enrol($course, 'student');

        $result = $this->upsert($course->id, self::events());

        $this->assertSame([helper::STATUS_CREATED, helper::STATUS_CREATED], array_column($result['events'], 'status'));
        $event = $DB->get_record('event', ['id' => $result['events'][0]['id']], '*', MUST_EXIST);
        $this->assertSame('course', $event->eventtype);
        $this->assertEquals($course->id, $event->courseid);
        $this->assertSame('mintqo:event:2025:trier:ws1', $event->uuid);
        $this->assertSame('Workshop 1: Auftakt & Ziele', $event->name);
        $this->assertSame('Trier, Haus der Jugend', $event->location);
        $this->assertEquals(6 * HOURSECS, $event->timeduration);

        $this->setUser($student);
        $calendar = \calendar_information::create(time(), $course->id);
        [$data, ] = calendar_get_view($calendar, 'upcoming');
        $names = array_map(fn($event) => html_entity_decode($event->name, ENT_QUOTES, 'UTF-8'), $data->events);
        $this->assertContains('Workshop 1: Auftakt & Ziele', $names);
        $this->assertContains('Workshop 2', $names);
        $this->setAdminUser();

        $again = $this->upsert($course->id, self::events());
        $this->assertSame([helper::STATUS_UNCHANGED, helper::STATUS_UNCHANGED], array_column($again['events'], 'status'));
        $this->assertSame(array_column($result['events'], 'id'), array_column($again['events'], 'id'));
        $this->assertEquals(2, $DB->count_records('event', ['courseid' => $course->id, 'eventtype' => 'course']));

        $moved = self::events();
        $moved[1]['timestart'] += DAYSECS;
        $third = $this->upsert($course->id, $moved);
        $this->assertSame([helper::STATUS_UNCHANGED, helper::STATUS_UPDATED], array_column($third['events'], 'status'));
        $this->assertEquals($moved[1]['timestart'], $DB->get_field('event', 'timestart', ['id' => $result['events'][1]['id']]));
    }

    /**
     * An editing teacher without local/mintqo:provision cannot write events through the plugin.
     */
    public function test_requires_provision_capability(): void {
        $this->resetAfterTest();
        $course = $this->getDataGenerator()->create_course();
        $this->setUser($this->getDataGenerator()->create_and_enrol($course, 'editingteacher'));

        $this->expectException(\required_capability_exception::class);
        $this->upsert($course->id, self::events());
    }

    /**
     * Empty or doubled idnumbers, empty names, missing start, negative duration and the site course are refused;
     * nothing is written.
     */
    public function test_bad_parameters(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course();
        [$event] = self::events();
        $cases = [
            [['idnumber' => ' '] + $event],
            [['idnumber' => str_repeat('x', 256)] + $event],
            [$event, $event],
            [['name' => ''] + $event],
            [['timestart' => 0] + $event],
            [['timeduration' => -1] + $event],
        ];
        foreach ($cases as $index => $events) {
            try {
                $this->upsert($course->id, $events);
                $this->fail("case {$index}: invalidparameter expected");
            } catch (\invalid_parameter_exception $e) {
                $this->assertSame('invalidparameter', $e->errorcode, "case {$index}");
            }
        }
        try {
            $this->upsert(SITEID, [$event]);
            $this->fail('the site course has no course events');
        } catch (\invalid_parameter_exception $e) {
            $this->assertSame('invalidparameter', $e->errorcode);
        }
        $this->assertFalse($DB->record_exists('event', ['uuid' => $event['idnumber']]));
    }
}
