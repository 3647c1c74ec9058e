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

use stdClass;

/**
 * Sets course completion to "all of these activities are complete".
 *
 * Core has no web service for completion criteria. Replacing criteria wipes every participant's course
 * completion (completion_info::clear_criteria()), so this only writes when the wanted set differs.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class completion_criteria_manager {
    /** @var stdClass course record */
    protected stdClass $course;

    /**
     * Constructor.
     *
     * @param stdClass $course
     */
    public function __construct(stdClass $course) {
        global $CFG;
        require_once($CFG->libdir . '/completionlib.php');
        require_once($CFG->dirroot . '/completion/criteria/completion_criteria_activity.php');
        $this->course = $course;
    }

    /**
     * Make the activity criteria exactly $cmids with aggregation ALL.
     *
     * @param int[] $cmids course module ids, each with completion enabled
     * @return string helper::STATUS_* value
     */
    public function set_activity_criteria(array $cmids): string {
        global $DB;
        $cmids = array_values(array_unique(array_map('intval', $cmids)));
        sort($cmids);
        $existed = $DB->record_exists('course_completion_criteria', ['course' => $this->course->id]);
        if ($this->matches($cmids)) {
            return helper::STATUS_UNCHANGED;
        }

        $completion = new \completion_info($this->course);
        $completion->clear_criteria();

        $data = new stdClass();
        $data->id = $this->course->id;
        $data->criteria_activity = array_fill_keys($cmids, 1);
        (new \completion_criteria_activity())->update_config($data);

        foreach ([null, COMPLETION_CRITERIA_TYPE_ACTIVITY] as $criteriatype) {
            $aggregation = new \completion_aggregation(['course' => $this->course->id, 'criteriatype' => $criteriatype]);
            $aggregation->setMethod(COMPLETION_AGGREGATION_ALL);
            $aggregation->save();
        }

        \core\event\course_completion_updated::create([
            'courseid' => $this->course->id,
            'context' => \context_course::instance($this->course->id),
        ])->trigger();

        return $existed ? helper::STATUS_UPDATED : helper::STATUS_CREATED;
    }

    /**
     * Whether the stored criteria already are exactly these activities, aggregated with ALL.
     *
     * @param int[] $cmids sorted
     * @return bool
     */
    protected function matches(array $cmids): bool {
        global $DB;
        $criteria = $DB->get_records('course_completion_criteria', ['course' => $this->course->id]);
        $stored = [];
        foreach ($criteria as $criterion) {
            if ((int)$criterion->criteriatype !== COMPLETION_CRITERIA_TYPE_ACTIVITY) {
                return false;
            }
            $stored[] = (int)$criterion->moduleinstance;
        }
        sort($stored);
        if ($stored !== $cmids) {
            return false;
        }
        $methods = $DB->get_records('course_completion_aggr_methd', ['course' => $this->course->id]);
        foreach ($methods as $method) {
            $relevant = $method->criteriatype === null || (int)$method->criteriatype === COMPLETION_CRITERIA_TYPE_ACTIVITY;
            if ($relevant && (int)$method->method !== COMPLETION_AGGREGATION_ALL) {
                return false;
            }
        }
        return true;
    }
}
