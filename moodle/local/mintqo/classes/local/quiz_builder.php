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

use context;
use context_course;
use context_module;
use stdClass;

/**
 * Builds a self-assessment quiz: questions from Moodle XML, one quiz section and grade item per dimension.
 *
 * Every step uses Moodle's own API (qformat_xml, add_moduleinfo(), quiz_add_quiz_question(), the quiz
 * structure class) so question versions, references, events and gradebook items are what the UI makes.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class quiz_builder {
    /** @var stdClass course record */
    protected stdClass $course;

    /**
     * Constructor.
     *
     * @param stdClass $course
     */
    public function __construct(stdClass $course) {
        global $CFG;
        require_once($CFG->dirroot . '/course/modlib.php');
        require_once($CFG->libdir . '/questionlib.php');
        require_once($CFG->libdir . '/completionlib.php');
        require_once($CFG->dirroot . '/mod/quiz/lib.php');
        require_once($CFG->dirroot . '/mod/quiz/locallib.php');
        require_once($CFG->dirroot . '/question/format.php');
        require_once($CFG->dirroot . '/question/format/xml/format.php');
        $this->course = $course;
    }

    /**
     * The idnumbers of the questions in a Moodle XML file, in file order, without importing anything.
     *
     * The importer silently drops an idnumber that already exists in the category, so duplicates must be
     * caught before it runs.
     *
     * @param string $xml
     * @return string[] idnumbers ('' for a question without one)
     */
    public static function question_idnumbers(string $xml): array {
        $document = new \DOMDocument();
        $previous = libxml_use_internal_errors(true);
        libxml_clear_errors();
        $loaded = $document->loadXML($xml, LIBXML_NONET);
        $errors = libxml_get_errors();
        libxml_clear_errors();
        libxml_use_internal_errors($previous);
        if (!$loaded) {
            $first = $errors ? $errors[0] : null;
            $message = $first ? trim($first->message) . ' (line ' . $first->line . ')' : 'not well-formed XML';
            throw helper::error('questionimportfailed', $message);
        }
        $root = $document->documentElement;
        if (!$root || $root->nodeName !== 'quiz') {
            throw helper::error('questionimportfailed', 'root element must be <quiz>');
        }
        $idnumbers = [];
        foreach ($root->childNodes as $node) {
            if (!($node instanceof \DOMElement) || $node->nodeName !== 'question') {
                continue;
            }
            if ($node->getAttribute('type') === 'category') {
                continue;
            }
            $idnumber = '';
            foreach ($node->childNodes as $child) {
                if ($child instanceof \DOMElement && $child->nodeName === 'idnumber') {
                    $idnumber = trim($child->textContent);
                }
            }
            $idnumbers[] = $idnumber;
        }
        if (!$idnumbers) {
            throw helper::error('questionimportfailed', 'the file contains no questions');
        }
        return $idnumbers;
    }

    /**
     * Check that sections and XML name the same questions, each exactly once.
     *
     * @param string[] $xmlidnumbers from question_idnumbers()
     * @param array $sections request sections: heading, questionidnumbers
     */
    public static function validate_sections(array $xmlidnumbers, array $sections): void {
        $inxml = [];
        foreach ($xmlidnumbers as $position => $idnumber) {
            if ($idnumber === '') {
                throw helper::error('unknownquestionidnumber', 'question ' . ($position + 1) . ' of the XML has no <idnumber>');
            }
            if (isset($inxml[$idnumber])) {
                throw helper::error('duplicatequestionidnumber', $idnumber);
            }
            $inxml[$idnumber] = true;
        }
        $insections = [];
        foreach ($sections as $index => $section) {
            if (empty($section['questionidnumbers'])) {
                throw helper::error('invalidsection', 'quiz section ' . ($index + 1) . ' has no questions');
            }
            foreach ($section['questionidnumbers'] as $idnumber) {
                if (isset($insections[$idnumber])) {
                    throw helper::error('duplicatequestionidnumber', $idnumber);
                }
                if (!isset($inxml[$idnumber])) {
                    throw helper::error('unknownquestionidnumber', $idnumber);
                }
                $insections[$idnumber] = true;
            }
        }
        foreach (array_keys($inxml) as $idnumber) {
            if (!isset($insections[$idnumber])) {
                throw helper::error('unknownquestionidnumber', (string)$idnumber);
            }
        }
    }

    /**
     * The question bank the plugin keeps its questions in.
     *
     * 4.4/4.5: the course context. 5.0+: the course's shared question bank of type "system" (a mod_qbank
     * instance, created on first use through question_bank_helper). That is the bank Moodle itself puts
     * course-level questions in: the 5.0 upgrade moves the course context's categories there, and
     * qformat_xml and restore fall back to it. So the same look-up finds questions imported before and after
     * an upgrade, and every quiz of the course can share them. See the README ("Where the questions live").
     *
     * @return context
     */
    public function question_bank_context(): context {
        $helper = '\core_question\local\bank\question_bank_helper';
        if (helper::is_moodle5() && class_exists($helper) && method_exists($helper, 'get_default_open_instance_system_type')) {
            $bank = $helper::get_default_open_instance_system_type($this->course, true);
            return context_module::instance($bank->id);
        }
        return context_course::instance($this->course->id);
    }

    /**
     * Questions of a bank context that carry one of the idnumbers: the newest version of each, if ready.
     *
     * Question idnumbers are unique per category only; when several categories of the bank hold one, the
     * oldest entry wins, so every quiz of the course reuses the same question.
     *
     * @param context $context the question bank context from question_bank_context()
     * @param string[] $idnumbers
     * @return array idnumber => (object) ['questionid' => int, 'categoryid' => int]
     */
    public function find_questions(context $context, array $idnumbers): array {
        global $DB;
        $idnumbers = array_values(array_filter(array_map('strval', $idnumbers), fn($idnumber) => $idnumber !== ''));
        if (!$idnumbers) {
            return [];
        }
        [$insql, $params] = $DB->get_in_or_equal($idnumbers, SQL_PARAMS_NAMED, 'idn');
        $sql = "SELECT qbe.id AS entryid, qbe.idnumber, qbe.questioncategoryid, qv.questionid
                  FROM {question_bank_entries} qbe
                  JOIN {question_categories} qc ON qc.id = qbe.questioncategoryid
                  JOIN {question_versions} qv ON qv.questionbankentryid = qbe.id
                 WHERE qc.contextid = :contextid
                   AND qbe.idnumber {$insql}
                   AND qv.status = :ready
                   AND qv.version = (SELECT MAX(v2.version)
                                       FROM {question_versions} v2
                                      WHERE v2.questionbankentryid = qbe.id)
              ORDER BY qbe.id ASC";
        $params += [
            'contextid' => $context->id,
            'ready' => \core_question\local\bank\question_version_status::QUESTION_STATUS_READY,
        ];
        $found = [];
        $rows = $DB->get_recordset_sql($sql, $params);
        foreach ($rows as $row) {
            if (!isset($found[$row->idnumber])) {
                $found[$row->idnumber] = (object)[
                    'questionid' => (int)$row->questionid,
                    'categoryid' => (int)$row->questioncategoryid,
                ];
            }
        }
        $rows->close();
        return $found;
    }

    /**
     * The questions a new quiz needs: those already in the bank by idnumber, the rest imported from the XML.
     *
     * Reused questions are not compared with the XML: a changed question needs a new idnumber (the instrument
     * carries its version in it), so the answers to one idnumber always mean the same statement.
     *
     * @param context $context the question bank context from question_bank_context()
     * @param string $name the quiz name, used for the category of newly imported questions
     * @param string $xml Moodle XML
     * @return array idnumber => question id, for every question of the XML
     */
    public function provide_questions(context $context, string $name, string $xml): array {
        $idnumbers = self::question_idnumbers($xml);
        $found = $this->find_questions($context, $idnumbers);
        $questionids = [];
        foreach ($found as $idnumber => $question) {
            $questionids[$idnumber] = $question->questionid;
        }
        $missing = array_values(array_diff($idnumbers, array_keys($found)));
        if ($missing) {
            $category = $this->create_category($context, $name);
            $xml = $found ? self::filter_questions($xml, $missing) : $xml;
            $questionids += $this->import_questions($category, $context, $xml);
        }
        return $questionids;
    }

    /**
     * The Moodle XML with only the questions whose idnumbers are listed (category entries are kept).
     *
     * @param string $xml well-formed (checked by question_idnumbers())
     * @param string[] $keep idnumbers
     * @return string
     */
    public static function filter_questions(string $xml, array $keep): string {
        $keep = array_flip($keep);
        $document = new \DOMDocument();
        $document->loadXML($xml, LIBXML_NONET);
        $remove = [];
        foreach ($document->documentElement->childNodes as $node) {
            if (!($node instanceof \DOMElement) || $node->nodeName !== 'question' || $node->getAttribute('type') === 'category') {
                continue;
            }
            $idnumber = '';
            foreach ($node->childNodes as $child) {
                if ($child instanceof \DOMElement && $child->nodeName === 'idnumber') {
                    $idnumber = trim($child->textContent);
                }
            }
            if (!isset($keep[$idnumber])) {
                $remove[] = $node;
            }
        }
        foreach ($remove as $node) {
            $document->documentElement->removeChild($node);
        }
        return $document->saveXML();
    }

    /**
     * Create a question category of its own for the quiz, below the context's top category.
     *
     * @param context $context
     * @param string $name
     * @return stdClass question_categories row
     */
    public function create_category(context $context, string $name): stdClass {
        global $DB;
        $top = question_get_top_category($context->id, true);
        $category = new stdClass();
        $category->name = \core_text::substr($name, 0, 255);
        $category->contextid = $context->id;
        $category->info = '';
        $category->infoformat = FORMAT_HTML;
        $category->stamp = make_unique_id_code();
        $category->parent = $top->id;
        $category->sortorder = 999;
        $category->idnumber = null;
        $category->id = $DB->insert_record('question_categories', $category);
        if (class_exists('\core\event\question_category_created')) {
            \core\event\question_category_created::create_from_question_category_instance($category, $context)->trigger();
        }
        return $category;
    }

    /**
     * Import Moodle XML into a category with qformat_xml; the importer's HTML output is discarded.
     *
     * @param stdClass $category
     * @param context $context the category's context
     * @param string $xml
     * @return array idnumber => question id (latest version in the category)
     */
    public function import_questions(stdClass $category, context $context, string $xml): array {
        global $DB;
        $file = make_request_directory() . '/mintqo_questions.xml';
        file_put_contents($file, $xml);

        $format = new \qformat_xml();
        $format->setCategory($category);
        $format->setContexts([$context]);
        $format->setCourse($this->course);
        $format->setFilename($file);
        $format->setRealfilename('mintqo_questions.xml');
        $format->setMatchgrades('error');
        $format->setCatfromfile(false);
        $format->setContextfromfile(false);
        $format->setStoponerror(true);
        $format->set_display_progress(false);

        ob_start();
        try {
            $ok = $format->importpreprocess() && $format->importprocess() && $format->importpostprocess();
        } finally {
            $output = ob_get_clean();
        }
        if (!$ok || $format->importerrors > 0 || empty($format->questionids)) {
            throw helper::error('questionimportfailed', self::first_message((string)$output));
        }

        $sql = "SELECT qbe.idnumber, q.id
                  FROM {question_bank_entries} qbe
                  JOIN {question_versions} qv ON qv.questionbankentryid = qbe.id
                  JOIN {question} q ON q.id = qv.questionid
                 WHERE qbe.questioncategoryid = :categoryid
                   AND qbe.idnumber IS NOT NULL
                   AND qv.version = (SELECT MAX(v2.version)
                                       FROM {question_versions} v2
                                      WHERE v2.questionbankentryid = qbe.id)";
        return $DB->get_records_sql_menu($sql, ['categoryid' => $category->id]);
    }

    /**
     * The first error the importer printed, as plain text.
     *
     * @param string $html
     * @return string
     */
    protected static function first_message(string $html): string {
        // Notifications carry a close button ("×", "Dismiss this notification"): not part of the message.
        $html = preg_replace('~<button\b.*?</button>~is', '', $html);
        foreach (preg_split('~</div>~i', $html) as $block) {
            $text = strip_tags(preg_replace('~<(br|/p|/strong|/blockquote|hr)[^>]*>~i', ' ', $block));
            $text = trim(preg_replace('/\s+/u', ' ', html_entity_decode($text, ENT_QUOTES, 'UTF-8')));
            if ($text !== '') {
                return \core_text::substr($text, 0, 500);
            }
        }
        return 'the importer rejected the file';
    }

    /** @var int Review option bits: during the attempt, right after it, later while open, after close. */
    public const REVIEW_ALWAYS = 0x11110;

    /** @var string[] Review options a self-analysis never shows: correctness, marks, feedback, the "right" answer. */
    public const REVIEW_NEVER = ['correctness', 'maxmarks', 'marks', 'specificfeedback', 'generalfeedback',
        'rightanswer', 'overallfeedback'];

    /**
     * The quiz settings the plugin keeps, in the shape current_settings() reads back.
     *
     * Whatever the caller sends, a self-analysis is not an exam: the participant sees their own answers (the attempt)
     * during and after it, never whether an answer is "correct", marks, feedback or a "right answer"; the quiz has
     * maximum grade 0 (its grade item has type "none" and never counts in a course total); completion is one
     * finished attempt (completionminattempts = 1), which needs no grade, unless the caller asks for no completion
     * tracking at all (settings completion = 0: an optional quiz that never counts in progress).
     *
     * @param string $name
     * @param string $intro
     * @param array $settings validated settings with defaults
     * @return array
     */
    public function desired_settings(string $name, string $intro, array $settings): array {
        $completionenabled = (new \completion_info($this->course))->is_enabled()
            && !empty($settings['completion']);
        $review = ['reviewattempt' => self::REVIEW_ALWAYS];
        foreach (self::REVIEW_NEVER as $field) {
            $review['review' . $field] = 0;
        }
        return [
            'name' => $name,
            'intro' => $intro,
            'visible' => empty($settings['visible']) ? 0 : 1,
            'attempts' => (int)$settings['attempts'],
            'grademethod' => (int)$settings['grademethod'],
            'timeopen' => (int)$settings['timeopen'],
            'timeclose' => (int)$settings['timeclose'],
            'grade' => 0.0,
            'completion' => $completionenabled ? COMPLETION_TRACKING_AUTOMATIC : COMPLETION_TRACKING_NONE,
            'completionusegrade' => 0,
            'completionpassgrade' => 0,
            'completionminattempts' => $completionenabled ? 1 : 0,
            'completionattemptsexhausted' => 0,
            'completionexpected' => $completionenabled ? (int)$settings['completionexpected'] : 0,
        ] + $review;
    }

    /**
     * The stored settings of an existing quiz, in the shape of desired_settings().
     *
     * @param stdClass $cm course_modules row
     * @return array
     */
    public function current_settings(stdClass $cm): array {
        global $DB;
        $quiz = $DB->get_record('quiz', ['id' => $cm->instance], '*', MUST_EXIST);
        $completionenabled = (new \completion_info($this->course))->is_enabled();
        $completion = $completionenabled ? (int)$cm->completion : COMPLETION_TRACKING_NONE;
        $review = ['reviewattempt' => (int)$quiz->reviewattempt];
        foreach (self::REVIEW_NEVER as $field) {
            $review['review' . $field] = (int)($quiz->{'review' . $field} ?? 0);
        }
        return [
            'name' => (string)$quiz->name,
            'intro' => (string)$quiz->intro,
            'visible' => empty($cm->visible) ? 0 : 1,
            'attempts' => (int)$quiz->attempts,
            'grademethod' => (int)$quiz->grademethod,
            'timeopen' => (int)$quiz->timeopen,
            'timeclose' => (int)$quiz->timeclose,
            'grade' => abs((float)$quiz->grade) < 0.0000001 ? 0.0 : (float)$quiz->grade,
            'completion' => $completion,
            'completionusegrade' => ($completion && $cm->completiongradeitemnumber !== null) ? 1 : 0,
            'completionpassgrade' => $completion ? (int)$cm->completionpassgrade : 0,
            'completionminattempts' => $completion ? (int)$quiz->completionminattempts : 0,
            'completionattemptsexhausted' => $completion ? (int)$quiz->completionattemptsexhausted : 0,
            'completionexpected' => $completion ? (int)$cm->completionexpected : 0,
        ] + $review;
    }

    /**
     * Create the quiz with add_moduleinfo(): a self-analysis (see desired_settings()).
     *
     * @param int $section course section number
     * @param string $idnumber
     * @param array $desired from desired_settings()
     * @param array $settings validated settings (questionsperpage)
     * @return stdClass moduleinfo with coursemodule and instance
     */
    public function create_quiz(int $section, string $idnumber, array $desired, array $settings): stdClass {
        global $DB;
        $config = get_config('quiz');
        $module = $DB->get_record('modules', ['name' => 'quiz'], '*', MUST_EXIST);

        $data = new stdClass();
        $data->modulename = 'quiz';
        $data->module = $module->id;
        $data->course = $this->course->id;
        $data->section = $section;
        $data->cmidnumber = $idnumber;
        $data->introformat = FORMAT_HTML;
        $data->showdescription = 0;
        $data->visibleoncoursepage = 1;
        $data->groupmode = 0;
        $data->groupingid = 0;
        $data->availability = null;
        $data->completionview = 0;

        $data->timelimit = 0;
        $data->overduehandling = $config->overduehandling ?? 'autosubmit';
        $data->graceperiod = (int)($config->graceperiod ?? 86400);
        $data->preferredbehaviour = $config->preferredbehaviour ?? 'deferredfeedback';
        $data->canredoquestions = 0;
        $data->attemptonlast = 0;
        $data->decimalpoints = (int)($config->decimalpoints ?? 2);
        $data->questiondecimalpoints = -1;
        $data->questionsperpage = (int)$settings['questionsperpage'];
        $data->navmethod = 'free';
        $data->shuffleanswers = 0;
        $data->sumgrades = 0;
        $data->quizpassword = '';
        $data->subnet = '';
        $data->browsersecurity = '-';
        $data->delay1 = 0;
        $data->delay2 = 0;
        $data->showuserpicture = 0;
        $data->showblocks = 0;
        $data->allowofflineattempts = 0;
        $data->seb_requiresafeexambrowser = 0;
        $this->apply_settings($data, $desired);

        return add_moduleinfo($data, $this->course);
    }

    /**
     * Bring an existing quiz to the desired settings with update_moduleinfo(); its questions stay as they are.
     *
     * @param stdClass $cm course_modules row
     * @param array $desired from desired_settings()
     * @param array $current from current_settings()
     */
    public function update_quiz(stdClass $cm, array $desired, array $current): void {
        $cmrecord = get_coursemodule_from_id('quiz', $cm->id, $this->course->id, false, MUST_EXIST);
        [$cmrecord, , , $data] = get_moduleinfo_data($cmrecord, $this->course);
        $data->quizpassword = (string)($data->password ?? '');
        $data->introeditor = ['text' => $desired['intro'], 'format' => FORMAT_HTML, 'itemid' => 0];
        $this->apply_settings($data, $desired);

        $completionfields = ['completion', 'completionusegrade', 'completionpassgrade', 'completionminattempts',
            'completionattemptsexhausted'];
        $data->completionunlocked = 0;
        foreach ($completionfields as $field) {
            if ($desired[$field] !== $current[$field]) {
                // Store the new rules and recalculate everybody's state from their finished attempts.
                $data->completionunlocked = 1;
            }
        }
        update_moduleinfo($cmrecord, $data, $this->course);

        if ($desired['grade'] !== $current['grade']) {
            // The function quiz_update_instance() keeps the stored maximum grade; the grade calculator changes it.
            \mod_quiz\quiz_settings::create((int)$cm->instance)->get_grade_calculator()
                ->update_quiz_maximum_grade($desired['grade']);
        }
    }

    /**
     * Put the desired settings into the moduleinfo fields quiz_add_instance()/quiz_update_instance() read.
     *
     * @param stdClass $data
     * @param array $desired from desired_settings()
     */
    protected function apply_settings(stdClass $data, array $desired): void {
        $data->name = $desired['name'];
        $data->intro = $desired['intro'];
        $data->visible = $desired['visible'];
        $data->attempts = $desired['attempts'];
        $data->grademethod = $desired['grademethod'];
        $data->timeopen = $desired['timeopen'];
        $data->timeclose = $desired['timeclose'];
        $data->grade = $desired['grade'];
        $data->completion = $desired['completion'];
        $data->completionusegrade = 0;
        // Tells update_moduleinfo() there is no grade condition ('' = null); add_moduleinfo() reads null.
        $data->completiongradeitemnumber = isset($data->coursemodule) ? '' : null;
        $data->completionpassgrade = 0;
        $data->completionattemptsexhausted = 0;
        $data->completionminattemptsenabled = $desired['completionminattempts'] > 0 ? 1 : 0;
        $data->completionminattempts = $desired['completionminattempts'];
        $data->completionexpected = $desired['completionexpected'];

        $times = ['during' => 0x10000, 'immediately' => 0x01000, 'open' => 0x00100, 'closed' => 0x00010];
        foreach (array_merge(['attempt'], self::REVIEW_NEVER) as $field) {
            $mask = $desired['review' . $field];
            foreach ($times as $when => $bit) {
                $data->{$field . $when} = ($mask & $bit) ? 1 : 0;
            }
        }
    }

    /**
     * Add the questions in section order, one page run per section, then headings and grade items.
     *
     * @param int $quizid
     * @param int $cmid
     * @param array $sections request sections
     * @param array $questionids idnumber => question id
     * @param int $questionsperpage 0 = a section is one page
     * @return array [['idnumber', 'questionid', 'slot'], ...] in slot order
     */
    public function build_structure(
        int $quizid,
        int $cmid,
        array $sections,
        array $questionids,
        int $questionsperpage
    ): array {
        global $DB;
        $quiz = $DB->get_record('quiz', ['id' => $quizid], '*', MUST_EXIST);
        $quiz->cmid = $cmid;

        $result = [];
        $firstpages = [];
        $page = 0;
        $slot = 0;
        foreach ($sections as $index => $section) {
            $page++;
            $firstpages[$index] = $page;
            $onpage = 0;
            foreach ($section['questionidnumbers'] as $idnumber) {
                if ($questionsperpage > 0 && $onpage >= $questionsperpage) {
                    $page++;
                    $onpage = 0;
                }
                if (!isset($questionids[$idnumber])) {
                    throw helper::error('questionimportfailed', 'question ' . $idnumber . ' was not imported');
                }
                quiz_add_quiz_question((int)$questionids[$idnumber], $quiz, (int)$page);
                $onpage++;
                $slot++;
                $result[] = ['idnumber' => $idnumber, 'questionid' => (int)$questionids[$idnumber], 'slot' => $slot];
            }
        }

        // Headings: the first section exists since quiz_add_instance(); later ones start on their own page.
        $quizobj = \mod_quiz\quiz_settings::create($quizid);
        $structure = $quizobj->get_structure();
        $sectionids = [];
        foreach ($sections as $index => $section) {
            $heading = (string)$section['heading'];
            if ($index === array_key_first($sections)) {
                $first = $DB->get_record('quiz_sections', ['quizid' => $quizid, 'firstslot' => 1], '*', MUST_EXIST);
                $structure->set_section_heading($first->id, $heading);
                $sectionids[$index] = (int)$first->id;
            } else {
                $sectionids[$index] = (int)$structure->add_section_heading($firstpages[$index], $heading);
            }
        }

        // One grade item per section; the section's slots are graded into it.
        $quizobj = \mod_quiz\quiz_settings::create($quizid);
        $structure = $quizobj->get_structure();
        if (method_exists($structure, 'create_grade_item')) {
            $slotnumber = 0;
            foreach ($sections as $section) {
                $gradeitem = new stdClass();
                $gradeitem->quizid = $quizid;
                $gradeitem->name = clean_param((string)$section['heading'], PARAM_TEXT);
                $structure->create_grade_item($gradeitem);
                foreach ($section['questionidnumbers'] as $unused) {
                    $slotnumber++;
                    if (!$structure->is_real_question($slotnumber)) {
                        // Description items (criterion titles) carry no mark and belong to no grade item.
                        continue;
                    }
                    $slotrecord = $DB->get_record('quiz_slots', ['quizid' => $quizid, 'slot' => $slotnumber], '*', MUST_EXIST);
                    $structure->update_slot_grade_item($slotrecord, (int)$gradeitem->id);
                }
            }
        }

        $quizobj = \mod_quiz\quiz_settings::create($quizid);
        $quizobj->get_grade_calculator()->recompute_quiz_sumgrades();
        $quiz = $DB->get_record('quiz', ['id' => $quizid], '*', MUST_EXIST);
        $quiz->cmidnumber = $DB->get_field('course_modules', 'idnumber', ['id' => $cmid]);
        $quiz->coursemodule = $cmid;
        quiz_update_grades($quiz, 0, true);
        return $result;
    }

    /**
     * The category a question is in.
     *
     * @param int $questionid
     * @return int question_categories id
     */
    public function question_category(int $questionid): int {
        global $DB;
        $sql = "SELECT qbe.questioncategoryid
                  FROM {question_versions} qv
                  JOIN {question_bank_entries} qbe ON qbe.id = qv.questionbankentryid
                 WHERE qv.questionid = :questionid";
        return (int)$DB->get_field_sql($sql, ['questionid' => $questionid], MUST_EXIST);
    }

    /**
     * The questions of an existing quiz, for the "unchanged" answer.
     *
     * @param int $quizid
     * @param int $cmid
     * @return array [questions, questioncategoryid]
     */
    public function existing_questions(int $quizid, int $cmid): array {
        global $DB;
        $sql = "SELECT qs.slot, qbe.idnumber, qbe.questioncategoryid,
                       (SELECT qv.questionid
                          FROM {question_versions} qv
                         WHERE qv.questionbankentryid = qbe.id
                           AND qv.version = COALESCE(qr.version,
                                   (SELECT MAX(v2.version)
                                      FROM {question_versions} v2
                                     WHERE v2.questionbankentryid = qbe.id))) AS questionid
                  FROM {quiz_slots} qs
                  JOIN {question_references} qr ON qr.itemid = qs.id
                                               AND qr.component = 'mod_quiz'
                                               AND qr.questionarea = 'slot'
                                               AND qr.usingcontextid = :contextid
                  JOIN {question_bank_entries} qbe ON qbe.id = qr.questionbankentryid
                 WHERE qs.quizid = :quizid
              ORDER BY qs.slot";
        $rows = $DB->get_records_sql($sql, ['quizid' => $quizid, 'contextid' => context_module::instance($cmid)->id]);
        $questions = [];
        $categoryid = 0;
        foreach ($rows as $row) {
            $categoryid = $categoryid ?: (int)$row->questioncategoryid;
            $questions[] = [
                'idnumber' => (string)$row->idnumber,
                'questionid' => (int)$row->questionid,
                'slot' => (int)$row->slot,
            ];
        }
        return [$questions, $categoryid];
    }
}
