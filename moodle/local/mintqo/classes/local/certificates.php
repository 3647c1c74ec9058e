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
 * Certificate records of the mintqo-lms service: what the public verify page answers from.
 *
 * The service issues certificates and publishes each record here (local_mintqo_publish_certificates), idempotent
 * by code. A record holds only what the page may show (name, cohort, date of issue, revoked or not) and the
 * holder's user id for the privacy provider; a forgotten holder's record keeps code, cohort and dates without
 * user and name, so the printed code still answers.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class certificates {
    /** @var string The table. */
    public const TABLE = 'local_mintqo_certificates';
    /** @var string A code as stored and printed: three groups of four symbols of Crockford's base 32. */
    public const CODE_PATTERN = '/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/';

    /**
     * The code as stored, from what someone typed or scanned: case, spaces and hyphens do not matter, O reads as 0,
     * I and L as 1. Anything that cannot be a code comes back as it is (and is then unknown).
     *
     * @param string $text
     * @return string
     */
    public static function normalise_code(string $text): string {
        $symbols = strtr(strtoupper(preg_replace('/[^0-9A-Za-z]/', '', $text)), ['O' => '0', 'I' => '1', 'L' => '1']);
        if (strlen($symbols) !== 12) {
            return $symbols;
        }
        return implode('-', str_split($symbols, 4));
    }

    /**
     * The record of a typed code, or null when there is none.
     *
     * @param string $text
     * @return stdClass|null
     */
    public static function find(string $text): ?stdClass {
        global $DB;
        $code = self::normalise_code($text);
        if (!preg_match(self::CODE_PATTERN, $code)) {
            return null;
        }
        $record = $DB->get_record(self::TABLE, ['code' => $code]);
        return $record ?: null;
    }

    /**
     * Keep the records of these users without user and name (privacy deletion): the codes still answer.
     *
     * @param int[] $userids
     */
    public static function forget_users(array $userids): void {
        global $DB;
        if (!$userids) {
            return;
        }
        [$insql, $params] = $DB->get_in_or_equal($userids, SQL_PARAMS_NAMED);
        $records = $DB->get_records_select(self::TABLE, "userid $insql", $params, 'id', 'id');
        foreach ($records as $record) {
            $DB->update_record(self::TABLE, (object)[
                'id' => $record->id,
                'userid' => null,
                'fullname' => '',
                'timemodified' => time(),
            ]);
        }
    }
}
