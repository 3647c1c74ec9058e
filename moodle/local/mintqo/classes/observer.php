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

namespace local_mintqo;

use local_mintqo\local\team;

/**
 * Event observers of local_mintqo.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class observer {
    /**
     * A quiz attempt was submitted: a plugin quiz becomes complete for every member of the submitter's groups.
     *
     * @param \mod_quiz\event\attempt_submitted $event
     */
    public static function attempt_submitted(\mod_quiz\event\attempt_submitted $event): void {
        $cm = get_coursemodule_from_id('quiz', $event->contextinstanceid, $event->courseid);
        if (!$cm || !team::is_team_quiz($cm)) {
            return;
        }
        team::complete_team($cm, (int)$event->relateduserid);
    }

    /**
     * A course module was updated: when it is a plugin quiz, its teams are completed again.
     *
     * Changed completion rules make Moodle recalculate everybody's completion of the activity and drop the
     * overrides the team rule set (completion_info::reset_all_state()); this puts them back. Idempotent.
     *
     * @param \core\event\course_module_updated $event
     */
    public static function course_module_updated(\core\event\course_module_updated $event): void {
        if (($event->other['modulename'] ?? '') !== 'quiz') {
            return;
        }
        $cm = get_coursemodule_from_id('quiz', $event->objectid, $event->courseid);
        if (!$cm || !team::is_team_quiz($cm)) {
            return;
        }
        team::complete_all_teams($cm);
    }
}
