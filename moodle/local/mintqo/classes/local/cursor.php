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
 * Keyset cursors of the sync reads: one position (time, id) per list.
 *
 * A page holds the rows strictly after the position in (time, id) order, so rows of one second are neither read
 * twice nor skipped. A row younger than SETTLE_SECONDS is not served yet: a row written later in the same second,
 * or committed a moment later by a slower request, would otherwise sort before a position already handed out and
 * never be read. The text form ("c1:1700000000:17:0:0") is opaque to clients; the sandbox uses the same.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class cursor {
    /** @var int Seconds a row must be old before a keyset page serves it. */
    public const SETTLE_SECONDS = 2;

    /**
     * The positions a cursor stands for; "" = from $since on.
     *
     * @param string $cursor the cursor a previous answer gave, or ""
     * @param string $kind one letter per function: c completions, q quiz responses, e enrolments
     * @param int $lists how many lists the cursor covers
     * @param int $since the first time wanted when the cursor is ""
     * @return array of [time, id]
     */
    public static function decode(string $cursor, string $kind, int $lists, int $since = 0): array {
        if ($cursor === '') {
            return array_fill(0, $lists, [$since, 0]);
        }
        $parts = explode(':', $cursor);
        $valid = count($parts) === 1 + 2 * $lists && $parts[0] === $kind . '1';
        for ($i = 1; $valid && $i < count($parts); $i++) {
            $valid = ctype_digit($parts[$i]);
        }
        if (!$valid) {
            throw new \invalid_parameter_exception("cursor: '{$cursor}' is not a cursor of this function");
        }
        $positions = [];
        for ($i = 0; $i < $lists; $i++) {
            $positions[] = [(int)$parts[1 + 2 * $i], (int)$parts[2 + 2 * $i]];
        }
        return $positions;
    }

    /**
     * The text form of positions.
     *
     * @param string $kind
     * @param array $positions of [time, id]
     * @return string
     */
    public static function encode(string $kind, array $positions): string {
        $parts = [$kind . '1'];
        foreach ($positions as [$time, $id]) {
            $parts[] = (int)$time;
            $parts[] = (int)$id;
        }
        return implode(':', $parts);
    }

    /**
     * SQL for "after the position and settled" on a time expression and an id expression.
     *
     * @param string $time SQL expression of the row's time
     * @param string $id SQL expression of the row's id
     * @param array $position [time, id]
     * @param string $prefix unique prefix of the named parameters
     * @return array [sql, params]
     */
    public static function after_sql(string $time, string $id, array $position, string $prefix): array {
        $sql = "(({$time} > :{$prefix}t1 OR ({$time} = :{$prefix}t2 AND {$id} > :{$prefix}id))
                 AND {$time} <= :{$prefix}newest)";
        return [$sql, [
            $prefix . 't1' => $position[0],
            $prefix . 't2' => $position[0],
            $prefix . 'id' => $position[1],
            $prefix . 'newest' => time() - self::SETTLE_SECONDS,
        ]];
    }
}
