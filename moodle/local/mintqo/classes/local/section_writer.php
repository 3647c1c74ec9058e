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

namespace local_mintqo\local;

use core_external\external_single_structure;
use core_external\external_value;
use stdClass;

/**
 * Course sections by number: create the missing ones, set name, summary and visibility.
 *
 * Shared by upsert_sections and upsert_course_content; the caller holds the transaction.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class section_writer {
    /**
     * The request structure of one section.
     *
     * @return external_single_structure
     */
    public static function structure(): external_single_structure {
        return new external_single_structure([
            'section' => new external_value(PARAM_INT, 'Section number, 1 or more'),
            'name' => new external_value(PARAM_TEXT, 'Section name'),
            'summary' => new external_value(PARAM_RAW, 'Summary (HTML)', VALUE_DEFAULT, ''),
            'visible' => new external_value(PARAM_INT, '1 visible, 0 hidden', VALUE_DEFAULT, 1),
        ]);
    }

    /**
     * The answer structure of one section.
     *
     * @return external_single_structure
     */
    public static function result_structure(): external_single_structure {
        return new external_single_structure([
            'section' => new external_value(PARAM_INT, 'Section number'),
            'id' => new external_value(PARAM_INT, 'course_sections id'),
            'name' => new external_value(PARAM_TEXT, 'Section name'),
            'status' => new external_value(PARAM_ALPHA, 'created, updated or unchanged'),
        ]);
    }

    /**
     * Check one section item against those seen before it in the same list.
     *
     * @param array $section request item
     * @param array $seen section number => true, updated
     */
    public static function validate(array $section, array &$seen): void {
        $number = (int)$section['section'];
        if ($number < 1 || isset($seen[$number])) {
            throw helper::error('invalidsection', $number);
        }
        $seen[$number] = true;
    }

    /**
     * Create the missing sections and bring each listed one to the request.
     *
     * @param stdClass $course
     * @param array $sections validated request items, not empty
     * @return array result rows in request order
     */
    public static function apply(stdClass $course, array $sections): array {
        global $CFG, $DB;
        require_once($CFG->dirroot . '/course/lib.php');
        $existing = $DB->get_records_menu('course_sections', ['course' => $course->id], '', 'section, id');
        course_create_sections_if_missing($course, range(0, max(array_column($sections, 'section'))));

        $results = [];
        foreach ($sections as $section) {
            $record = $DB->get_record(
                'course_sections',
                ['course' => $course->id, 'section' => $section['section']],
                '*',
                MUST_EXIST
            );
            $wanted = [
                'name' => (string)$section['name'],
                'summary' => (string)$section['summary'],
                'summaryformat' => FORMAT_HTML,
                'visible' => empty($section['visible']) ? 0 : 1,
            ];
            $changed = (string)$record->name !== $wanted['name']
                || (string)$record->summary !== $wanted['summary']
                || ((string)$record->summary !== '' && (int)$record->summaryformat !== (int)FORMAT_HTML)
                || (int)$record->visible !== $wanted['visible'];
            if ($changed) {
                course_update_section($course, $record, $wanted);
            }
            if (!isset($existing[$section['section']])) {
                $status = helper::STATUS_CREATED;
            } else {
                $status = $changed ? helper::STATUS_UPDATED : helper::STATUS_UNCHANGED;
            }
            $results[] = [
                'section' => (int)$section['section'],
                'id' => (int)$record->id,
                'name' => $wanted['name'],
                'status' => $status,
            ];
        }
        return $results;
    }
}
