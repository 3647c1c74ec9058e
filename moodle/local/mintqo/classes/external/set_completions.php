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

use context_course;
use context_module;
use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use local_mintqo\local\helper;

/**
 * Many people's completion of one activity, set as overrides by the calling user, in one transaction.
 *
 * core_completion_override_activity_completion_status does this for one person per call; recording the
 * attendance of a workshop would need one call per participant. Each entry goes through
 * completion_info::update_state() with override, exactly as core does it; an entry already in the wanted state is
 * not written again (no new time, no new overrideby), so repeating a call changes nothing.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class set_completions extends external_api {
    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'cmid' => new external_value(PARAM_INT, 'Course module id'),
            'entries' => new external_multiple_structure(new external_single_structure([
                'userid' => new external_value(PARAM_INT, 'User id'),
                'completed' => new external_value(PARAM_BOOL, 'Complete (true) or not complete (false)'),
            ])),
        ]);
    }

    /**
     * Set the completions.
     *
     * @param int $cmid
     * @param array $entries
     * @return array
     */
    public static function execute(int $cmid, array $entries): array {
        global $CFG;
        require_once($CFG->libdir . '/completionlib.php');
        $params = self::validate_parameters(self::execute_parameters(), ['cmid' => $cmid, 'entries' => $entries]);

        [$course, $cm] = get_course_and_cm_from_cmid($params['cmid']);
        self::validate_context(context_module::instance($cm->id));
        require_capability('moodle/course:overridecompletion', context_course::instance($course->id));
        $completion = new \completion_info($course);
        if (!$completion->is_enabled($cm)) {
            throw helper::error('completionnotenabled', $cm->id);
        }
        $seen = [];
        foreach ($params['entries'] as $entry) {
            $userid = (int)$entry['userid'];
            if (isset($seen[$userid])) {
                throw new \invalid_parameter_exception("entries: user {$userid} appears twice");
            }
            $seen[$userid] = true;
            if (!$completion->is_tracked_user($userid)) {
                throw helper::error('usernottracked', $userid);
            }
        }

        $results = helper::in_transaction(function () use ($params, $completion, $cm): array {
            $results = [];
            foreach ($params['entries'] as $entry) {
                $userid = (int)$entry['userid'];
                $current = $completion->get_data($cm, false, $userid);
                $incomplete = (int)$current->completionstate === COMPLETION_INCOMPLETE;
                // As update_state(): "complete" leaves any complete state (pass or fail) as it is.
                $changed = $incomplete === (bool)$entry['completed'];
                if ($changed) {
                    $newstate = $entry['completed'] ? COMPLETION_COMPLETE : COMPLETION_INCOMPLETE;
                    $completion->update_state($cm, $newstate, $userid, true);
                    $current = $completion->get_data($cm, false, $userid);
                }
                $results[] = [
                    'userid' => $userid,
                    'state' => (int)$current->completionstate,
                    'changed' => $changed,
                    'overrideby' => empty($current->overrideby) ? null : (int)$current->overrideby,
                    'timemodified' => (int)($current->timemodified ?? 0),
                ];
            }
            return $results;
        });
        return ['results' => $results];
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'results' => new external_multiple_structure(new external_single_structure([
                'userid' => new external_value(PARAM_INT, 'User id'),
                'state' => new external_value(PARAM_INT, '0 incomplete, 1 complete, 2 complete pass, 3 complete fail'),
                'changed' => new external_value(PARAM_BOOL, 'Whether this call wrote the state'),
                'overrideby' => new external_value(
                    PARAM_INT,
                    'User who overrode the state, or null',
                    VALUE_REQUIRED,
                    null,
                    NULL_ALLOWED
                ),
                'timemodified' => new external_value(PARAM_INT, 'Last change of the state, 0 never'),
            ])),
        ]);
    }
}
