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

/**
 * An error of one item of a batch, its message prefixed with where the item is ("courses[3] (course 57): ...").
 *
 * Keeps errorcode, component and placeholder data of the original, so callers keep keying on the errorcode. The
 * detail of an invalid_parameter_exception (its debuginfo) becomes part of the message: sites without developer
 * debugging would otherwise only say "Invalid parameter value detected".
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class located_exception extends \moodle_exception {
    /**
     * Constructor.
     *
     * @param string $where e.g. "courses[3] (course 57): modules[2] (idnumber mintqo:x)"
     * @param \moodle_exception $original
     */
    public function __construct(string $where, \moodle_exception $original) {
        parent::__construct($original->errorcode, $original->module, $original->link, $original->a, $original->debuginfo);
        $message = $original->getMessage();
        $detail = (string)$original->debuginfo;
        if ($detail !== '' && strpos($message, $detail) === false) {
            $message .= ' (' . $detail . ')';
        }
        $this->message = $where . ': ' . $message;
    }

    /**
     * Run $work; a Moodle error it raises travels on located at $where.
     *
     * @param string $where
     * @param callable $work
     * @return mixed what $work returned
     */
    public static function at(string $where, callable $work) {
        try {
            return $work();
        } catch (\moodle_exception $e) {
            throw new located_exception($where, $e);
        }
    }
}
