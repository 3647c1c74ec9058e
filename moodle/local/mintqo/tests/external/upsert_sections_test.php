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
 * Tests of local_mintqo_upsert_sections.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(upsert_sections::class)]
final class upsert_sections_test extends \advanced_testcase {
    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param int $courseid
     * @param array $sections
     * @return array
     */
    protected function upsert(int $courseid, array $sections): array {
        $result = upsert_sections::execute($courseid, $sections);
        return external_api::clean_returnvalue(upsert_sections::execute_returns(), $result);
    }

    /**
     * Missing sections are created up to the highest number; names, summaries and visibility are set.
     */
    public function test_creates_and_names_sections(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['format' => 'topics', 'numsections' => 1]);

        $result = $this->upsert($course->id, [
            ['section' => 1, 'name' => 'Auftakt & Kennenlernen', 'summary' => '<p>Willkommen</p>'],
            ['section' => 3, 'name' => 'Workshop „Transfer“', 'visible' => 0],
        ]);

        $this->assertSame([1, 3], array_column($result['sections'], 'section'));
        $this->assertSame([helper::STATUS_UPDATED, helper::STATUS_CREATED], array_column($result['sections'], 'status'));
        $this->assertTrue($DB->record_exists('course_sections', ['course' => $course->id, 'section' => 2]));
        $three = $DB->get_record('course_sections', ['course' => $course->id, 'section' => 3], '*', MUST_EXIST);
        $this->assertSame('Workshop „Transfer“', $three->name);
        $this->assertEquals(0, $three->visible);
        $this->assertEquals($three->id, $result['sections'][1]['id']);
        $one = $DB->get_record('course_sections', ['course' => $course->id, 'section' => 1], '*', MUST_EXIST);
        $this->assertSame('<p>Willkommen</p>', $one->summary);
        $this->assertEquals(FORMAT_HTML, $one->summaryformat);
    }

    /**
     * The same request again reports every section unchanged and writes nothing; a change is an update.
     */
    public function test_idempotent_by_section_number(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['format' => 'topics', 'numsections' => 0]);
        $sections = [['section' => 1, 'name' => 'Eins'], ['section' => 2, 'name' => 'Zwei', 'summary' => 'S']];
        $first = $this->upsert($course->id, $sections);
        $count = $DB->count_records('course_sections', ['course' => $course->id]);
        $modified = $DB->get_records_menu('course_sections', ['course' => $course->id], '', 'id, timemodified');

        $this->waitForSecond();
        $second = $this->upsert($course->id, $sections);

        $this->assertSame([helper::STATUS_CREATED, helper::STATUS_CREATED], array_column($first['sections'], 'status'));
        $this->assertSame([helper::STATUS_UNCHANGED, helper::STATUS_UNCHANGED], array_column($second['sections'], 'status'));
        $this->assertSame(array_column($first['sections'], 'id'), array_column($second['sections'], 'id'));
        $this->assertSame($count, $DB->count_records('course_sections', ['course' => $course->id]));
        $this->assertEquals($modified, $DB->get_records_menu('course_sections', ['course' => $course->id], '', 'id, timemodified'));

        $third = $this->upsert($course->id, [['section' => 2, 'name' => 'Zwei (neu)', 'summary' => 'S']]);
        $this->assertSame(helper::STATUS_UPDATED, $third['sections'][0]['status']);
    }

    /**
     * An editing teacher without local/mintqo:provision cannot change sections.
     */
    public function test_requires_provision_capability(): void {
        $this->resetAfterTest();
        $course = $this->getDataGenerator()->create_course();
        $this->setUser($this->getDataGenerator()->create_and_enrol($course, 'editingteacher'));

        $this->expectException(\required_capability_exception::class);
        $this->upsert($course->id, [['section' => 1, 'name' => 'Eins']]);
    }

    /**
     * Section 0, negative numbers and duplicates are refused before anything is written; a missing course too.
     */
    public function test_bad_parameters(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $course = $this->getDataGenerator()->create_course(['format' => 'topics', 'numsections' => 1]);
        $before = $DB->get_records('course_sections', ['course' => $course->id]);

        foreach ([[0], [-1], [2, 2]] as $numbers) {
            $sections = array_map(fn($number) => ['section' => $number, 'name' => 'X'], $numbers);
            try {
                $this->upsert($course->id, $sections);
                $this->fail('invalidsection expected for ' . json_encode($numbers));
            } catch (\moodle_exception $e) {
                $this->assertSame('invalidsection', $e->errorcode);
                $this->assertSame('local_mintqo', $e->module);
            }
        }
        $this->assertEquals($before, $DB->get_records('course_sections', ['course' => $course->id]));

        $_POST['sesskey'] = sesskey();
        $response = external_api::call_external_function('local_mintqo_upsert_sections', [
            'courseid' => $course->id, 'sections' => [['section' => 'eins', 'name' => 'X']],
        ]);
        $this->assertTrue($response['error']);
        $this->assertSame('invalidparameter', $response['exception']->errorcode);

        $this->expectException(\dml_missing_record_exception::class);
        $this->upsert(987654, [['section' => 1, 'name' => 'Eins']]);
    }
}
