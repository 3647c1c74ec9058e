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
 * "One team, one analysis": an initiative is a group of its regional course; its self-analysis in a quiz is the
 * latest finished attempt by any member of the group.
 *
 * The completion observer and the team page both ask this class, so they cannot disagree about the rule.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class team {
    /** @var string Prefix of the idnumber of every activity the plugin provisions. */
    public const IDNUMBER_PREFIX = 'mintqo:';

    /**
     * Whether a course module is a quiz provisioned by the plugin (a team self-analysis).
     *
     * @param stdClass|\cm_info $cm course module with modname (or module) and idnumber
     * @return bool
     */
    public static function is_team_quiz($cm): bool {
        $modname = $cm->modname ?? null;
        if ($modname === null) {
            global $DB;
            $modname = $DB->get_field('modules', 'name', ['id' => $cm->module]);
        }
        return $modname === 'quiz' && strpos((string)$cm->idnumber, self::IDNUMBER_PREFIX) === 0;
    }

    /**
     * The groups (initiatives) of a user in a course.
     *
     * @param int $courseid
     * @param int $userid
     * @return stdClass[] group records by id
     */
    public static function groups_of(int $courseid, int $userid): array {
        return groups_get_all_groups($courseid, $userid);
    }

    /**
     * The initiatives a user may look at: their own groups, or every group of the course for holders of
     * moodle/site:accessallgroups (teachers, managers).
     *
     * @param int $courseid
     * @param \context $context the quiz's context
     * @param int $userid
     * @return stdClass[] group records by id
     */
    public static function viewable_groups(int $courseid, \context $context, int $userid): array {
        if (has_capability('moodle/site:accessallgroups', $context, $userid)) {
            return groups_get_all_groups($courseid);
        }
        return self::groups_of($courseid, $userid);
    }

    /**
     * The group asked for when it is viewable, else the first viewable group, else null.
     *
     * @param stdClass[] $groups from viewable_groups()
     * @param int $groupid requested group, 0 for none
     * @return stdClass|null
     */
    public static function choose_group(array $groups, int $groupid): ?stdClass {
        if (isset($groups[$groupid])) {
            return $groups[$groupid];
        }
        return $groups ? reset($groups) : null;
    }

    /**
     * The team's analysis: the latest finished, non-preview attempt at a quiz by any current member of a group.
     *
     * Latest means the highest timefinish (then the highest attempt id, for attempts of the same second).
     *
     * @param int $quizid
     * @param int $groupid
     * @return stdClass|null quiz_attempts row
     */
    public static function latest_attempt(int $quizid, int $groupid): ?stdClass {
        global $DB;
        $sql = "SELECT qa.*
                  FROM {quiz_attempts} qa
                  JOIN {groups_members} gm ON gm.userid = qa.userid AND gm.groupid = :groupid
                 WHERE qa.quiz = :quizid
                   AND qa.state = :finished
                   AND qa.preview = 0
              ORDER BY qa.timefinish DESC, qa.id DESC";
        $records = $DB->get_records_sql($sql, ['groupid' => $groupid, 'quizid' => $quizid, 'finished' => 'finished'], 0, 1);
        return $records ? reset($records) : null;
    }

    /**
     * Mark a team quiz complete for every member of the submitter's groups in its course.
     *
     * The submitter completes by the quiz's own completion rule (re-evaluated here, as Moodle does after an
     * attempt). Every other member who is tracked by completion and not yet complete gets an override to
     * complete, set by the submitter: exactly the row Moodle writes for a teacher's override (completion_info::update_state() with
     * $override), without requiring the submitter to hold moodle/course:overridecompletion. Moodle then reviews
     * the course completion criterion on the activity and aggregates the course at once, and an override to
     * complete holds: later automatic re-evaluation (a regrade, a grade change) does not undo it.
     *
     * Idempotent: members already complete are left alone. Members of other groups, non-plugin quizzes and
     * quizzes without completion are never touched.
     *
     * @param stdClass|\cm_info $cm the quiz's course module
     * @param int $submitterid the user whose attempt was submitted
     * @return int[] ids of the other members marked complete by this call
     */
    public static function complete_team($cm, int $submitterid): array {
        global $CFG;
        require_once($CFG->libdir . '/completionlib.php');

        if (!self::is_team_quiz($cm)) {
            return [];
        }
        $course = get_course($cm->course);
        $completion = new \completion_info($course);
        if (!$completion->is_enabled($cm)) {
            return [];
        }

        $memberids = [];
        foreach (self::groups_of((int)$course->id, $submitterid) as $group) {
            foreach (groups_get_members($group->id, 'u.id') as $member) {
                $memberids[(int)$member->id] = true;
            }
        }

        // The submitter completes by the quiz's own rule, evaluated by Moodle as after any attempt.
        $completion->update_state($cm, COMPLETION_COMPLETE, $submitterid);
        unset($memberids[$submitterid]);

        $marked = [];
        foreach (array_keys($memberids) as $userid) {
            if (!$completion->is_tracked_user($userid)) {
                continue;
            }
            $data = $completion->get_data($cm, false, $userid);
            if (self::counts_as_complete($cm, (int)$data->completionstate)) {
                continue;
            }
            $data->completionstate = COMPLETION_COMPLETE;
            $data->timemodified = time();
            $data->overrideby = $submitterid;
            $completion->internal_set_data($cm, $data);
            $marked[] = $userid;
        }
        return $marked;
    }

    /**
     * Apply the team rule to every group of the quiz's course that has submitted its analysis.
     *
     * Needed after Moodle recalculated the quiz's completion from scratch (update_moduleinfo() with changed
     * completion rules calls completion_info::reset_all_state(), which deletes the overrides): each group's
     * latest finished attempt completes its members again, the submitter of that attempt as "set by".
     *
     * @param stdClass|\cm_info $cm the quiz's course module
     * @return int[] ids of the members marked complete by this call
     */
    public static function complete_all_teams($cm): array {
        if (!self::is_team_quiz($cm)) {
            return [];
        }
        $marked = [];
        foreach (groups_get_all_groups($cm->course) as $group) {
            $attempt = self::latest_attempt((int)$cm->instance, (int)$group->id);
            if ($attempt) {
                $marked = array_merge($marked, self::complete_team($cm, (int)$attempt->userid));
            }
        }
        return array_values(array_unique($marked));
    }

    /**
     * Whether a completion state already counts as complete (as course completion counts it).
     *
     * @param stdClass|\cm_info $cm
     * @param int $state
     * @return bool
     */
    protected static function counts_as_complete($cm, int $state): bool {
        if ($state == COMPLETION_COMPLETE || $state == COMPLETION_COMPLETE_PASS) {
            return true;
        }
        return $state == COMPLETION_COMPLETE_FAIL && empty($cm->completionpassgrade);
    }
}
