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
 * English strings for local_mintqo.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['activitytypemismatch'] = 'The idnumber "{$a->idnumber}" belongs to a {$a->existing} activity, not to a {$a->requested}.';
$string['completionnotenabled'] = 'Completion is not enabled for the activity {$a}.';
$string['duplicatequestionidnumber'] = 'The question idnumber "{$a}" appears more than once.';
$string['invalidcompletioncriteria'] = 'Completion criterion "{$a}" is not an activity of this course with completion enabled.';
$string['invalidsection'] = 'Invalid section: {$a}.';
$string['mintqo:provision'] = 'Provision MINT-QO courses, activities and quizzes';
$string['mintqo:publishcertificates'] = 'Publish certificates of participation for the verification page';
$string['mintqo:viewteamanalysis'] = 'View the self-analysis of one\'s initiative (team)';
$string['notateamquiz'] = 'This activity is not a self-analysis of the MINT-Qualitätsoffensive.';
$string['pluginname'] = 'MINT-QO web services';
$string['privacy:certificates'] = 'Certificates of participation';
$string['privacy:metadata:certificates'] = 'Certificates of participation that the mintqo-lms service issued, kept so that anyone holding a certificate\'s code can check it on the verification page.';
$string['privacy:metadata:certificates:code'] = 'The verification code printed on the certificate.';
$string['privacy:metadata:certificates:cohort'] = 'The cohort (year) of the qualification.';
$string['privacy:metadata:certificates:fullname'] = 'The name printed on the certificate.';
$string['privacy:metadata:certificates:revoked'] = 'Whether and when the certificate was revoked.';
$string['privacy:metadata:certificates:timeissued'] = 'The date of issue.';
$string['privacy:metadata:certificates:userid'] = 'The holder of the certificate.';
$string['privacy:metadata:mintqo_sync'] = 'The mintqo-lms sync service of the MINT-Qualitätsoffensive reads participant data through this plugin\'s web services to run the programme and its statistics.';
$string['privacy:metadata:mintqo_sync:completion'] = 'Activity and course completion states.';
$string['privacy:metadata:mintqo_sync:email'] = 'The e-mail address of the user.';
$string['privacy:metadata:mintqo_sync:enrolments'] = 'The courses and groups the user is enrolled in.';
$string['privacy:metadata:mintqo_sync:fullname'] = 'The full name of the user.';
$string['privacy:metadata:mintqo_sync:quizresponses'] = 'The answers given in self-assessment quizzes.';
$string['privacy:metadata:mintqo_sync:userid'] = 'The id of the user.';
$string['questionimportfailed'] = 'The question import failed: {$a}';
$string['quizstructuremissing'] = 'A quiz module needs the quiz structure (questionset, sections, settings).';
$string['quizstructurenotallowed'] = 'Only a quiz module has a quiz structure, not a {$a} module.';
$string['teamanalysis'] = 'Our team self-analysis';
$string['teamanalysis_answer'] = 'Our team\'s answer';
$string['teamanalysis_choosegroup'] = 'Initiative';
$string['teamanalysis_group'] = 'Initiative: {$a}';
$string['teamanalysis_noanswer'] = 'no answer';
$string['teamanalysis_nogroup'] = 'You are not a member of an initiative in this course. Please contact your regional coordination.';
$string['teamanalysis_nogroups'] = 'This course has no initiatives (groups) yet.';
$string['teamanalysis_none'] = 'Your team has not submitted this self-analysis yet. One member submits it for the whole initiative.';
$string['teamanalysis_notmeaningful'] = 'Assessment: not yet meaningful (fewer than half of the statements answered)';
$string['teamanalysis_result'] = 'Assessment: {$a} of 100';
$string['teamanalysis_rule'] = 'One member submits the self-analysis for the whole initiative. What counts for the team is the analysis a member submitted last.';
$string['teamanalysis_scale'] = 'The assessment of an area runs from 0 (every statement "{$a->low}") to 100 (every statement "{$a->high}"); it covers the answered statements.';
$string['teamanalysis_statement'] = 'Statement';
$string['teamanalysis_submitted'] = 'Submitted by {$a->name} on {$a->date}.';
$string['teamanalysis_toquiz'] = 'Open the self-analysis';
$string['unknownquestionidnumber'] = 'Unknown or unassigned question idnumber: {$a}';
$string['unknownquestionset'] = 'Unknown question set: {$a}';
$string['unknownteamquiz'] = 'The team quiz "{$a}" is not a quiz of this course.';
$string['unsupportedmodule'] = 'Activity type "{$a}" is not supported (page, url, label, assign).';
$string['usernottracked'] = 'User {$a} is not enrolled as a participant whose completion is tracked in this course.';
$string['verify_code'] = 'Verification code';
$string['verify_cohort'] = 'Cohort';
$string['verify_date'] = 'Issued on';
$string['verify_intro'] = 'Enter the verification code printed on the certificate of participation, or scan its QR code.';
$string['verify_name'] = 'Name';
$string['verify_namenotkept'] = '(no longer stored, at the holder\'s request)';
$string['verify_revoked'] = 'Revoked';
$string['verify_revoked_text'] = 'This certificate of participation was revoked and is no longer valid.';
$string['verify_submit'] = 'Verify';
$string['verify_title'] = 'Verify a certificate of participation';
$string['verify_unknown'] = 'Unknown';
$string['verify_unknown_text'] = 'There is no certificate of participation with this code. Please check what you entered.';
$string['verify_valid'] = 'Valid';
$string['verify_valid_text'] = 'This certificate of participation is genuine and valid.';
