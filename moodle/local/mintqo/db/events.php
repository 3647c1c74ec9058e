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
 * Event observers of local_mintqo.
 *
 * One team, one analysis: when a member of an initiative (a group) submits a plugin quiz, the quiz becomes
 * complete for the whole group; when a plugin quiz is updated (changed completion rules reset everybody's
 * completion), every group that has submitted is completed again. Not internal: the observers run after the
 * quiz has committed the attempt (on 5.x after it was graded too) or the update, and a failure there can never
 * undo a participant's submission.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$observers = [
    [
        'eventname' => '\mod_quiz\event\attempt_submitted',
        'callback' => '\local_mintqo\observer::attempt_submitted',
        'internal' => false,
    ],
    [
        'eventname' => '\core\event\course_module_updated',
        'callback' => '\local_mintqo\observer::course_module_updated',
        'internal' => false,
    ],
];
