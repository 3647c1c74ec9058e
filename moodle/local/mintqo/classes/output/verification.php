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

use core\output\named_templatable;
use renderable;
use renderer_base;
use stdClass;

/**
 * The public verify page of a certificate of participation: valid, revoked or unknown, the name, the cohort and
 * the date of issue — nothing else (no user id, no e-mail, no reason for a revocation, no modules).
 *
 * An unknown code gets the same shape as a known one (the three fields shown as a dash), so the page tells a
 * visitor nothing beyond "no such certificate".
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class verification implements named_templatable, renderable {
    /** @var string the code as the visitor gave it (empty: show only the form) */
    protected $code;
    /** @var stdClass|null the certificate record, null when the code is unknown */
    protected $record;

    /**
     * Constructor.
     *
     * @param string $code the code as the visitor gave it
     * @param stdClass|null $record the certificate record, null when unknown
     */
    public function __construct(string $code, ?stdClass $record) {
        $this->code = $code;
        $this->record = $record;
    }

    /**
     * The template.
     *
     * @param renderer_base $renderer
     * @return string
     */
    public function get_template_name(renderer_base $renderer): string {
        return 'local_mintqo/verification';
    }

    /**
     * Valid, revoked or unknown ('' when no code was given).
     *
     * @return string
     */
    public function status(): string {
        if ($this->code === '') {
            return '';
        }
        if ($this->record === null) {
            return 'unknown';
        }
        return $this->record->revoked ? 'revoked' : 'valid';
    }

    /**
     * Data for the template.
     *
     * @param renderer_base $output
     * @return array
     */
    public function export_for_template(renderer_base $output): array {
        $status = $this->status();
        $data = [
            'action' => (new \moodle_url('/local/mintqo/verify.php'))->out(false),
            'code' => $this->code,
            'hasresult' => $status !== '',
            'status' => $status,
            'valid' => $status === 'valid',
            'revoked' => $status === 'revoked',
            'unknown' => $status === 'unknown',
        ];
        if ($status === '') {
            return $data;
        }
        $data['heading'] = get_string('verify_' . $status, 'local_mintqo');
        $data['message'] = get_string('verify_' . $status . '_text', 'local_mintqo');
        $dash = '—';
        $data['fields'] = [
            ['label' => get_string('verify_name', 'local_mintqo'), 'value' => $dash],
            ['label' => get_string('verify_cohort', 'local_mintqo'), 'value' => $dash],
            ['label' => get_string('verify_date', 'local_mintqo'), 'value' => $dash],
        ];
        if ($this->record !== null) {
            $name = trim((string)$this->record->fullname);
            $data['fields'][0]['value'] = $name === '' ? get_string('verify_namenotkept', 'local_mintqo')
                : format_string($name, true, ['context' => \context_system::instance(), 'escape' => false]);
            $data['fields'][1]['value'] = format_string(
                (string)$this->record->cohort,
                true,
                ['context' => \context_system::instance(), 'escape' => false]
            );
            $data['fields'][2]['value'] = userdate((int)$this->record->timeissued, get_string('strftimedate', 'langconfig'));
        }
        return $data;
    }
}
