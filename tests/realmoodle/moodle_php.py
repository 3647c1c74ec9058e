"""Helpers the real-Moodle suites share: PHP CLI scripts run on the site's own machine (``MOODLE_DIR``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

# A finished attempt cannot be made through web services with an admin token (the admin's attempts are
# previews, which the plugin leaves out), so a PHP CLI script on the site's own machine makes one through
# mod_quiz's attempt API and reports what it answered.
ATTEMPT_PHP = r"""<?php
define('CLI_SCRIPT', true);
require(getenv('MOODLE_DIR') . '/config.php');
require_once($CFG->dirroot . '/mod/quiz/locallib.php');
[$quizid, $userid, $offset] = [(int)$argv[1], (int)$argv[2], (int)$argv[3]];
\core\session\manager::set_user($DB->get_record('user', ['id' => $userid], '*', MUST_EXIST));
$quizobj = \mod_quiz\quiz_settings::create($quizid, $userid);
$attempt = quiz_prepare_and_start_new_attempt($quizobj, 1, false, false, [], [], $userid);
$attemptobj = \mod_quiz\quiz_attempt::create($attempt->id);
$chosen = [];
$submit = [];
foreach ($attemptobj->get_slots() as $slot) {
    if (!$attemptobj->is_real_question($slot)) {
        continue;   // a criterion's description item: nothing to answer
    }
    $question = $attemptobj->get_question_attempt($slot)->get_question();
    $answers = array_values($question->answers);
    $index = ($slot + $offset) % count($answers);
    $submit[$slot] = ['answer' => $answers[$index]->answer];
    $chosen[] = ['slot' => (int)$slot, 'questionidnumber' => $question->idnumber, 'answertext' => $answers[$index]->answer,
        'answerposition' => $index + 1, 'fraction' => (float)$answers[$index]->fraction];
}
$attemptobj->process_submitted_actions(time(), false, $submit);
\mod_quiz\quiz_attempt::create($attempt->id)->process_finish(time(), false);
echo json_encode(['attemptid' => (int)$attempt->id, 'chosen' => $chosen]);
"""


def php(script: Path, *args: object) -> object:
    """Run a PHP CLI script; its last line of output is JSON."""
    done = subprocess.run(["php", str(script), *map(str, args)], capture_output=True, text=True, timeout=120,
                          env={**os.environ})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def finish_attempt(script: Path, quizid: int, userid: int, offset: int = 0) -> dict:
    """Finish one attempt with ``ATTEMPT_PHP`` (written to ``script``): attemptid and what it chose per slot."""
    return php(script, quizid, userid, offset)
