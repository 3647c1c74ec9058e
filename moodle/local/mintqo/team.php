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

/**
 * The team's self-analysis: every member of an initiative reads the answers its team submitted.
 *
 * One team, one analysis: the initiative's self-analysis in a quiz is the latest finished attempt by any member of
 * its group. Members see only their own initiative; teachers and managers (moodle/site:accessallgroups) choose one.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require(__DIR__ . '/../../config.php');

use local_mintqo\local\team;

$id = required_param('id', PARAM_INT);
$groupid = optional_param('group', 0, PARAM_INT);

[$course, $cm] = get_course_and_cm_from_cmid($id, 'quiz');
require_login($course, false, $cm);
$context = context_module::instance($cm->id);
require_capability('local/mintqo:viewteamanalysis', $context);
if (!team::is_team_quiz($cm)) {
    throw new moodle_exception('notateamquiz', 'local_mintqo');
}
$quiz = $DB->get_record('quiz', ['id' => $cm->instance], '*', MUST_EXIST);

// Members choose among their own initiatives only; teachers and managers among all of the course.
$groups = team::viewable_groups((int)$course->id, $context, (int)$USER->id);
$group = team::choose_group($groups, $groupid);

$url = new moodle_url('/local/mintqo/team.php', ['id' => $cm->id]);
if ($group && count($groups) > 1) {
    $url->param('group', $group->id);
}
$PAGE->set_url($url);
$PAGE->set_pagelayout('incourse');
$PAGE->add_body_class('limitedwidth');
$title = get_string('teamanalysis', 'local_mintqo');
$PAGE->set_title($title . ': ' . format_string($cm->name));
$PAGE->set_heading(format_string($course->fullname));
$PAGE->activityheader->set_attrs(['description' => '']);
$PAGE->navbar->add($title, $url);

$groupselect = null;
if (count($groups) > 1) {
    $options = [];
    foreach ($groups as $option) {
        $options[$option->id] = format_string($option->name, true, ['context' => $context]);
    }
    $groupselect = new single_select(
        new moodle_url('/local/mintqo/team.php', ['id' => $cm->id]),
        'group',
        $options,
        $group->id,
        null
    );
    $groupselect->set_label(get_string('teamanalysis_choosegroup', 'local_mintqo'));
}

$attempt = $group ? team::latest_attempt((int)$quiz->id, (int)$group->id) : null;
$page = new \local_mintqo\output\team_analysis($cm, $quiz, $group, $attempt, $groupselect);

echo $OUTPUT->header();
echo $OUTPUT->render($page);
echo $OUTPUT->footer();
