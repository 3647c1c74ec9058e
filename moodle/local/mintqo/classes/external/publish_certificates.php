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

namespace local_mintqo\external;

use context_system;
use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use local_mintqo\local\certificates;
use local_mintqo\local\helper;

/**
 * Certificate records for the public verify page (local/mintqo/verify.php), idempotent by code.
 *
 * The mintqo-lms service issues and revokes certificates; it sends each record's current state here: new,
 * revoked, or pseudonymised (no user, no name) after the holder was forgotten. The whole batch is stored or
 * nothing; a record that already matches is reported unchanged.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class publish_certificates extends external_api {
    /** @var string[] Fields compared to decide between updated and unchanged. */
    protected const FIELDS = ['userid', 'fullname', 'cohort', 'timeissued', 'revoked', 'timerevoked'];

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'certificates' => new external_multiple_structure(new external_single_structure([
                'code' => new external_value(PARAM_ALPHANUMEXT, 'Verification code, XXXX-XXXX-XXXX'),
                'userid' => new external_value(PARAM_INT, 'The holder\'s user id, 0 when none', VALUE_DEFAULT, 0),
                'fullname' => new external_value(
                    PARAM_TEXT,
                    'Name printed on the certificate, empty when pseudonymised',
                    VALUE_DEFAULT,
                    ''
                ),
                'cohort' => new external_value(PARAM_ALPHANUMEXT, 'Cohort key, e.g. 2025'),
                'timeissued' => new external_value(PARAM_INT, 'Date of issue, unix time'),
                'revoked' => new external_value(PARAM_INT, '1 when revoked', VALUE_DEFAULT, 0),
                'timerevoked' => new external_value(PARAM_INT, 'When it was revoked, unix time, 0 when not', VALUE_DEFAULT, 0),
            ])),
        ]);
    }

    /**
     * Store the records in one transaction.
     *
     * @param array $certificates
     * @return array
     */
    public static function execute(array $certificates): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['certificates' => $certificates]);
        $context = context_system::instance();
        self::validate_context($context);
        require_capability('local/mintqo:publishcertificates', $context);

        $seen = [];
        foreach ($params['certificates'] as $certificate) {
            $code = (string)$certificate['code'];
            if (!preg_match(certificates::CODE_PATTERN, $code)) {
                throw new \invalid_parameter_exception('certificates: code ' . $code . ' is not a certificate code');
            }
            if (isset($seen[$code])) {
                throw new \invalid_parameter_exception('certificates: code ' . $code . ' appears twice');
            }
            $seen[$code] = true;
            if ((int)$certificate['timeissued'] <= 0) {
                throw new \invalid_parameter_exception('certificates: timeissued must be a unix time');
            }
            if (trim((string)$certificate['cohort']) === '') {
                throw new \invalid_parameter_exception('certificates: cohort is required');
            }
            if (\core_text::strlen((string)$certificate['fullname']) > 255) {
                throw new \invalid_parameter_exception('certificates: fullname has more than 255 characters');
            }
        }

        return helper::in_transaction(function () use ($DB, $params) {
            $results = [];
            $now = time();
            foreach ($params['certificates'] as $certificate) {
                $userid = (int)$certificate['userid'];
                if ($userid && !$DB->record_exists('user', ['id' => $userid, 'deleted' => 0])) {
                    $userid = 0; // A deleted holder: the record stays, without the link.
                }
                $revoked = $certificate['revoked'] ? 1 : 0;
                $wanted = [
                    'userid' => $userid ?: null,
                    'fullname' => trim((string)$certificate['fullname']),
                    'cohort' => (string)$certificate['cohort'],
                    'timeissued' => (int)$certificate['timeissued'],
                    'revoked' => $revoked,
                    'timerevoked' => $revoked ? (int)$certificate['timerevoked'] : 0,
                ];
                $existing = $DB->get_record(certificates::TABLE, ['code' => $certificate['code']]);
                if (!$existing) {
                    $DB->insert_record(certificates::TABLE, (object)($wanted + [
                        'code' => $certificate['code'],
                        'timecreated' => $now,
                        'timemodified' => $now,
                    ]));
                    $results[] = ['code' => $certificate['code'], 'status' => helper::STATUS_CREATED];
                    continue;
                }
                $changes = [];
                foreach (self::FIELDS as $field) {
                    $stored = $existing->$field;
                    $same = $field === 'userid'
                        ? (int)$stored === (int)$wanted[$field]
                        : (string)$stored === (string)$wanted[$field];
                    if (!$same) {
                        $changes[$field] = $wanted[$field];
                    }
                }
                if ($changes) {
                    $DB->update_record(certificates::TABLE, (object)($changes + ['id' => $existing->id, 'timemodified' => $now]));
                }
                $results[] = [
                    'code' => $certificate['code'],
                    'status' => $changes ? helper::STATUS_UPDATED : helper::STATUS_UNCHANGED,
                ];
            }
            return ['certificates' => $results];
        });
    }

    /**
     * Return structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'certificates' => new external_multiple_structure(new external_single_structure([
                'code' => new external_value(PARAM_ALPHANUMEXT, 'Verification code'),
                'status' => new external_value(PARAM_ALPHA, 'created, updated or unchanged'),
            ])),
        ]);
    }
}
