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
 * Verify a certificate of participation: anyone may open this page without logging in (an employer, a funder).
 *
 * It answers from the records the mintqo-lms service publishes (local_mintqo_publish_certificates): valid, revoked
 * or unknown, the name, the cohort and the date of issue — nothing else.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

// phpcs:ignore moodle.Files.RequireLogin.Missing -- a public page: whoever holds the code may check it.
require(__DIR__ . '/../../config.php');

use local_mintqo\local\certificates;

$code = trim(optional_param('code', '', PARAM_NOTAGS));
$code = \core_text::substr($code, 0, 40);

$PAGE->set_context(context_system::instance());
$PAGE->set_url(new moodle_url('/local/mintqo/verify.php', $code === '' ? [] : ['code' => $code]));
$PAGE->set_pagelayout('standard');
$title = get_string('verify_title', 'local_mintqo');
$PAGE->set_title($title);
$PAGE->set_heading($title);

$record = $code === '' ? null : certificates::find($code);
$page = new \local_mintqo\output\verification($code, $record);

echo $OUTPUT->header();
echo $OUTPUT->render($page);
echo $OUTPUT->footer();
