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
 * Course calendar events by our idnumber, kept in the event's uuid field.
 *
 * Shared by upsert_events and upsert_course_content; the caller holds the transaction.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class event_writer {
    /** @var string[] Event fields compared to decide between updated and unchanged. */
    protected const FIELDS = ['name', 'description', 'timestart', 'timeduration', 'location'];

    /**
     * The request structure of one event.
     *
     * @return external_single_structure
     */
    public static function structure(): external_single_structure {
        return new external_single_structure([
            'idnumber' => new external_value(PARAM_RAW, 'Our key of the event, unique in the course (at most 255)'),
            'name' => new external_value(PARAM_TEXT, 'Event name'),
            'description' => new external_value(PARAM_RAW, 'Description (HTML)', VALUE_DEFAULT, ''),
            'timestart' => new external_value(PARAM_INT, 'Start, unix time'),
            'timeduration' => new external_value(PARAM_INT, 'Duration in seconds (0 = a point in time)', VALUE_DEFAULT, 0),
            'location' => new external_value(PARAM_TEXT, 'Place', VALUE_DEFAULT, ''),
        ]);
    }

    /**
     * The answer structure of one event.
     *
     * @return external_single_structure
     */
    public static function result_structure(): external_single_structure {
        return new external_single_structure([
            'idnumber' => new external_value(PARAM_RAW, 'Our key of the event'),
            'id' => new external_value(PARAM_INT, 'Moodle event id'),
            'status' => new external_value(PARAM_ALPHA, 'created, updated or unchanged'),
        ]);
    }

    /**
     * The site course has no course events.
     *
     * @param stdClass $course
     */
    public static function require_not_site(stdClass $course): void {
        if ((int)$course->id === (int)SITEID) {
            throw new \invalid_parameter_exception('courseid: the site course has no course events');
        }
    }

    /**
     * Check one event item against those seen before it in the same list.
     *
     * @param array $event request item
     * @param array $seen idnumber => true, updated
     */
    public static function validate(array $event, array &$seen): void {
        $idnumber = trim((string)$event['idnumber']);
        if ($idnumber === '' || \core_text::strlen($idnumber) > 255) {
            throw new \invalid_parameter_exception('events: idnumber must have 1 to 255 characters');
        }
        if (isset($seen[$idnumber])) {
            throw new \invalid_parameter_exception('events: idnumber ' . $idnumber . ' appears twice');
        }
        $seen[$idnumber] = true;
        if (trim((string)$event['name']) === '') {
            throw new \invalid_parameter_exception('events: name is required');
        }
        if ((int)$event['timestart'] <= 0) {
            throw new \invalid_parameter_exception('events: timestart must be a unix time');
        }
        if ((int)$event['timeduration'] < 0) {
            throw new \invalid_parameter_exception('events: timeduration must not be negative');
        }
    }

    /**
     * Create the event or bring it to the request.
     *
     * @param stdClass $course
     * @param array $event validated request item
     * @return array result row
     */
    public static function upsert(stdClass $course, array $event): array {
        global $CFG, $USER;
        require_once($CFG->dirroot . '/calendar/lib.php');
        $idnumber = trim((string)$event['idnumber']);
        $wanted = [
            'name' => trim((string)$event['name']),
            'description' => (string)$event['description'],
            'timestart' => (int)$event['timestart'],
            'timeduration' => (int)$event['timeduration'],
            'location' => (string)$event['location'],
        ];
        $existing = self::find_event((int)$course->id, $idnumber);
        if (!$existing) {
            $properties = (object)($wanted + [
                'format' => FORMAT_HTML,
                'courseid' => (int)$course->id,
                'categoryid' => 0,
                'groupid' => 0,
                'userid' => (int)$USER->id,
                'modulename' => '0',
                'instance' => 0,
                'eventtype' => 'course',
                'visible' => 1,
                'uuid' => $idnumber,
            ]);
            $created = \calendar_event::create($properties, false);
            return ['idnumber' => $idnumber, 'id' => (int)$created->id, 'status' => helper::STATUS_CREATED];
        }
        $changes = [];
        foreach (self::FIELDS as $field) {
            $stored = $field === 'timestart' || $field === 'timeduration'
                ? (int)$existing->$field : (string)$existing->$field;
            if ($stored !== $wanted[$field]) {
                $changes[$field] = $wanted[$field];
            }
        }
        if ($changes) {
            if (isset($changes['description'])) {
                $changes['format'] = FORMAT_HTML;
            }
            \calendar_event::load($existing->id)->update((object)$changes, false);
        }
        return [
            'idnumber' => $idnumber,
            'id' => (int)$existing->id,
            'status' => $changes ? helper::STATUS_UPDATED : helper::STATUS_UNCHANGED,
        ];
    }

    /**
     * The course event carrying our idnumber (the oldest when there are several).
     *
     * @param int $courseid
     * @param string $idnumber
     * @return stdClass|null event row
     */
    protected static function find_event(int $courseid, string $idnumber): ?stdClass {
        global $DB;
        $records = $DB->get_records(
            'event',
            ['courseid' => $courseid, 'eventtype' => 'course', 'uuid' => $idnumber],
            'id ASC',
            '*',
            0,
            1
        );
        return $records ? reset($records) : null;
    }
}
