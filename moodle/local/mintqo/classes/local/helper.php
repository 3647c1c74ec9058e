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

use context_course;
use moodle_exception;
use stdClass;

/**
 * Shared plumbing of the external functions: course loading, idnumber look-ups, errors, transactions.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class helper {
    /** @var string Status of an object that did not exist before the call. */
    public const STATUS_CREATED = 'created';
    /** @var string Status of an object whose stored values were changed. */
    public const STATUS_UPDATED = 'updated';
    /** @var string Status of an object that already matched the request. */
    public const STATUS_UNCHANGED = 'unchanged';

    /** @var int Largest page a read function answers, to bound memory and response size. */
    public const MAX_LIMITNUM = 5000;

    /**
     * Load a course; a missing course raises Moodle's dml_missing_record_exception.
     *
     * Its errorcode is invalidrecord on 4.4 and invalidrecordunknown on 5.x sites with debugging off (Moodle
     * hides the table name there); the README documents both, and nothing here depends on either.
     *
     * @param int $courseid
     * @return stdClass course record
     */
    public static function get_course(int $courseid): stdClass {
        global $DB;
        return $DB->get_record('course', ['id' => $courseid], '*', MUST_EXIST);
    }

    /**
     * Validate the course context and require every listed capability in it.
     *
     * @param stdClass $course
     * @param string[] $capabilities
     * @return context_course
     */
    public static function require_course_access(stdClass $course, array $capabilities): context_course {
        $context = context_course::instance($course->id);
        \core_external\external_api::validate_context($context);
        foreach ($capabilities as $capability) {
            require_capability($capability, $context);
        }
        return $context;
    }

    /**
     * The course module carrying an idnumber in a course, with its module name, or null.
     *
     * Moodle does not enforce unique cm idnumbers; the oldest one wins so repeated calls stay stable.
     *
     * @param int $courseid
     * @param string $idnumber
     * @return stdClass|null course_modules row plus modname
     */
    public static function find_cm_by_idnumber(int $courseid, string $idnumber): ?stdClass {
        global $DB;
        $sql = "SELECT cm.*, m.name AS modname
                  FROM {course_modules} cm
                  JOIN {modules} m ON m.id = cm.module
                 WHERE cm.course = :course
                   AND cm.idnumber = :idnumber
                   AND cm.deletioninprogress = 0
              ORDER BY cm.id ASC";
        $records = $DB->get_records_sql($sql, ['course' => $courseid, 'idnumber' => $idnumber], 0, 1);
        return $records ? reset($records) : null;
    }

    /**
     * A plugin error with one of the documented error codes.
     *
     * @param string $errorcode key in lang/xx/local_mintqo.php
     * @param mixed $a placeholder data for the message
     * @return moodle_exception
     */
    public static function error(string $errorcode, $a = null): moodle_exception {
        return new moodle_exception($errorcode, 'local_mintqo', '', $a);
    }

    /**
     * Run a batch inside one delegated transaction: applied completely or not at all.
     *
     * Moodle importers may force a rollback themselves; then the transaction is already disposed and only
     * the original exception must travel on. Caches are not rolled back: the structure (modinfo) and gradebook
     * category caches of the listed courses would still describe what the rollback removed, so they are dropped.
     *
     * @param callable $work
     * @param int[] $courseids courses whose structure $work may change
     * @return mixed what $work returned
     */
    public static function in_transaction(callable $work, array $courseids = []) {
        global $DB;
        $transaction = $DB->start_delegated_transaction();
        try {
            $result = $work();
            $transaction->allow_commit();
            return $result;
        } catch (\Throwable $e) {
            if (!$transaction->is_disposed()) {
                try {
                    $transaction->rollback($e);
                } catch (\Throwable $rethrown) {
                    $e = $rethrown;
                }
            }
            foreach (array_unique($courseids) as $courseid) {
                self::forget_course_caches((int)$courseid);
            }
            throw $e;
        }
    }

    /**
     * Drop the cached structure and grade categories of a course so the next look-up reads the database.
     *
     * @param int $courseid
     */
    public static function forget_course_caches(int $courseid): void {
        global $CFG;
        require_once($CFG->libdir . '/gradelib.php');
        $cache = \cache::make('core', 'coursemodinfo');
        $cache->acquire_lock($courseid);
        try {
            $cache->delete($courseid);
        } finally {
            $cache->release_lock($courseid);
        }
        \course_modinfo::clear_instance_cache($courseid);
        \core_courseformat\base::reset_course_cache($courseid);
        \grade_category::clean_record_set();
    }

    /**
     * Check paging arguments shared by the read functions.
     *
     * @param int $limitfrom
     * @param int $limitnum
     */
    public static function validate_paging(int $limitfrom, int $limitnum): void {
        if ($limitfrom < 0) {
            throw new \invalid_parameter_exception('limitfrom must be >= 0');
        }
        if ($limitnum < 1 || $limitnum > self::MAX_LIMITNUM) {
            throw new \invalid_parameter_exception('limitnum must be between 1 and ' . self::MAX_LIMITNUM);
        }
    }

    /**
     * Whether the site runs Moodle 5.0 or later (question banks live in mod_qbank instances there).
     *
     * @return bool
     */
    public static function is_moodle5(): bool {
        global $CFG;
        return (int)($CFG->branch ?? 0) >= 500;
    }
}
