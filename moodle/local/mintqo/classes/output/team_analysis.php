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

namespace local_mintqo\output;

use context_module;
use core\output\named_templatable;
use renderable;
use renderer_base;
use single_select;
use stdClass;

/**
 * The team's self-analysis: who submitted it and when, and per dimension and criterion each statement with the
 * answer the team chose. No marks, no correctness, no grade.
 *
 * A dimension (a quiz section) may carry the instrument's assessment 0–100: a statement's value is
 * (position − 1) / (number of answers − 1) × 100 in the quiz's answer order (the scale as the instrument
 * defines it), a dimension's value the mean of its answered statements — shown only when at least half of its
 * statements are answered.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class team_analysis implements named_templatable, renderable {
    /** @var string Separator between statement key and criterion title in the question name. */
    public const NAME_SEPARATOR = ' – ';

    /** @var stdClass|\cm_info the quiz's course module */
    protected $cm;
    /** @var stdClass the quiz record */
    protected $quiz;
    /** @var stdClass|null the initiative shown, null when the viewer has none */
    protected $group;
    /** @var stdClass|null the team's latest finished attempt, null when there is none */
    protected $attempt;
    /** @var single_select|null the initiative chooser, when the viewer may choose */
    protected $groupselect;

    /**
     * Constructor.
     *
     * @param stdClass|\cm_info $cm the quiz's course module
     * @param stdClass $quiz the quiz record
     * @param stdClass|null $group the initiative shown, null when the viewer has none
     * @param stdClass|null $attempt the team's latest finished attempt, null when there is none
     * @param single_select|null $groupselect the initiative chooser, when the viewer may choose
     */
    public function __construct($cm, stdClass $quiz, ?stdClass $group, ?stdClass $attempt, ?single_select $groupselect = null) {
        $this->cm = $cm;
        $this->quiz = $quiz;
        $this->group = $group;
        $this->attempt = $attempt;
        $this->groupselect = $groupselect;
    }

    /**
     * The template.
     *
     * @param renderer_base $renderer
     * @return string
     */
    public function get_template_name(renderer_base $renderer): string {
        return 'local_mintqo/team_analysis';
    }

    /**
     * Data for the template.
     *
     * @param renderer_base $output
     * @return array
     */
    public function export_for_template(renderer_base $output): array {
        global $DB;
        $context = context_module::instance($this->cm->id);
        $groupname = $this->group ? format_string($this->group->name, true, ['context' => $context, 'escape' => false]) : '';
        $data = [
            'groupselect' => $this->groupselect ? $this->groupselect->export_for_template($output) : null,
            'hasgroup' => $this->group !== null,
            'grouptitle' => $this->group ? get_string('teamanalysis_group', 'local_mintqo', $groupname) : '',
            'nogroup' => get_string(
                has_capability('moodle/site:accessallgroups', $context) ? 'teamanalysis_nogroups' : 'teamanalysis_nogroup',
                'local_mintqo'
            ),
            'hasattempt' => false,
            'quizurl' => (new \moodle_url('/mod/quiz/view.php', ['id' => $this->cm->id]))->out(false),
            'dimensions' => [],
        ];
        if ($this->attempt === null) {
            return $data;
        }
        $submitter = $DB->get_record('user', ['id' => $this->attempt->userid], '*', MUST_EXIST);
        $data['hasattempt'] = true;
        $data['submitted'] = get_string('teamanalysis_submitted', 'local_mintqo', (object)[
            'name' => fullname($submitter, has_capability('moodle/site:viewfullnames', $context)),
            'date' => userdate($this->attempt->timefinish, get_string('strftimedatetime', 'langconfig')),
        ]);
        $dimensions = $this->dimensions();
        $data['dimensions'] = array_map(fn(array $dimension) => $this->export_dimension($dimension), $dimensions);
        $data['scale'] = $this->scale_explanation($dimensions);
        return $data;
    }

    /**
     * The attempt's statements grouped by dimension (quiz section) and criterion, with the chosen answers.
     *
     * @return array [{heading, criteria: [{title, statements: [{text, answer, position, count}]}], value, answered,
     *               total}]
     */
    public function dimensions(): array {
        global $CFG, $DB;
        require_once($CFG->libdir . '/questionlib.php');
        if ($this->attempt === null) {
            return [];
        }
        $sections = $DB->get_records('quiz_sections', ['quizid' => $this->quiz->id], 'firstslot ASC');
        $quba = \question_engine::load_questions_usage_by_activity($this->attempt->uniqueid);

        $dimensions = [];
        $current = null;
        foreach ($quba->get_slots() as $slot) {
            $heading = '';
            foreach ($sections as $section) {
                if ((int)$section->firstslot <= $slot) {
                    $heading = (string)$section->heading;
                }
            }
            if ($current === null || $dimensions[$current]['heading'] !== $heading) {
                $dimensions[] = ['heading' => $heading, 'criteria' => [], 'scores' => [], 'total' => 0, 'labels' => []];
                $current = count($dimensions) - 1;
            }
            $statement = $this->statement($quba->get_question_attempt($slot));
            if ($statement === null) {
                continue; // A description item, not a statement.
            }
            $dimension = &$dimensions[$current];
            $title = $statement['criterion'];
            $last = count($dimension['criteria']) - 1;
            if ($last < 0 || $dimension['criteria'][$last]['title'] !== $title) {
                $dimension['criteria'][] = ['title' => $title, 'statements' => []];
                $last++;
            }
            $dimension['criteria'][$last]['statements'][] = $statement;
            $dimension['total']++;
            if ($statement['position'] > 0 && $statement['count'] > 1) {
                $dimension['scores'][] = ($statement['position'] - 1) / ($statement['count'] - 1) * 100;
            }
            if (!$dimension['labels']) {
                $dimension['labels'] = $statement['labels'];
            }
            unset($dimension);
        }

        foreach ($dimensions as $index => $dimension) {
            $answered = count($dimension['scores']);
            $dimensions[$index]['answered'] = $answered;
            $meaningful = $dimension['total'] > 0 && $answered * 2 >= $dimension['total'];
            $dimensions[$index]['value'] = $meaningful ? (int)round(array_sum($dimension['scores']) / $answered) : null;
            unset($dimensions[$index]['scores']);
        }
        return array_values(array_filter($dimensions, fn(array $dimension) => $dimension['total'] > 0));
    }

    /**
     * One statement: its text, criterion, the chosen answer's label and position in the defined answer order.
     *
     * @param \question_attempt $qa
     * @return array|null null for anything but a single-answer multiple-choice question
     */
    protected function statement(\question_attempt $qa): ?array {
        $question = $qa->get_question(false);
        if (!($question instanceof \qtype_multichoice_single_question)) {
            return null;
        }
        $answerids = array_keys($question->answers);
        $labels = [];
        foreach ($question->answers as $answer) {
            $labels[] = $question->html_to_text($answer->answer, $answer->answerformat);
        }
        $position = 0;
        $choice = $qa->get_last_qt_var('answer');
        $order = $question->get_order($qa);
        if ($choice !== null && $choice !== '' && (int)$choice >= 0 && isset($order[(int)$choice])) {
            $index = array_search($order[(int)$choice], $answerids);
            $position = $index === false ? 0 : $index + 1;
        }
        $name = (string)$question->name;
        $separator = strpos($name, self::NAME_SEPARATOR);
        return [
            'criterion' => $separator === false ? '' : trim(substr($name, $separator + strlen(self::NAME_SEPARATOR))),
            'text' => format_text($question->questiontext, $question->questiontextformat, [
                'context' => \context::instance_by_id($question->contextid),
                'para' => false,
            ]),
            'answer' => $position ? $labels[$position - 1] : null,
            'position' => $position,
            'count' => count($labels),
            'labels' => $labels,
        ];
    }

    /**
     * Template data of one dimension.
     *
     * @param array $dimension from dimensions()
     * @return array
     */
    protected function export_dimension(array $dimension): array {
        $context = context_module::instance($this->cm->id);
        $criteria = [];
        foreach ($dimension['criteria'] as $criterion) {
            $statements = [];
            foreach ($criterion['statements'] as $statement) {
                $statements[] = [
                    'text' => $statement['text'],
                    'answered' => $statement['position'] > 0,
                    'answer' => $statement['answer'] ?? get_string('teamanalysis_noanswer', 'local_mintqo'),
                ];
            }
            $criteria[] = [
                'hastitle' => $criterion['title'] !== '',
                'title' => format_string($criterion['title'], true, ['context' => $context]),
                'statements' => $statements,
            ];
        }
        $value = $dimension['value'];
        return [
            'heading' => format_string($dimension['heading'], true, ['context' => $context]),
            'hasheading' => $dimension['heading'] !== '',
            'hasvalue' => $value !== null,
            'value' => $value,
            'result' => $value === null
                ? get_string('teamanalysis_notmeaningful', 'local_mintqo')
                : get_string('teamanalysis_result', 'local_mintqo', $value),
            'criteria' => $criteria,
        ];
    }

    /**
     * How to read the 0–100 assessment, with the first and last answer of the scale.
     *
     * @param array $dimensions from dimensions()
     * @return string
     */
    protected function scale_explanation(array $dimensions): string {
        foreach ($dimensions as $dimension) {
            if (count($dimension['labels']) > 1) {
                return get_string('teamanalysis_scale', 'local_mintqo', (object)[
                    'low' => reset($dimension['labels']),
                    'high' => end($dimension['labels']),
                ]);
            }
        }
        return '';
    }
}
