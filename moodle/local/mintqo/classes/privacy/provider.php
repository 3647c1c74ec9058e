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

namespace local_mintqo\privacy;

use context;
use context_system;
use core_privacy\local\metadata\collection;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\contextlist;
use core_privacy\local\request\transform;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;
use local_mintqo\local\certificates;

/**
 * Privacy provider: the certificate records of the public verify page, and the data handed to the sync service.
 *
 * The plugin keeps one table, local_mintqo_certificates (system context): the certificates of participation the
 * mintqo-lms service issued, with the holder's user id and printed name. Export writes a person's certificates;
 * deletion keeps each record without user and name (code, cohort, dates and whether it is revoked are no
 * personal data once the person is gone), so a certificate someone printed still answers on the verify page.
 * Everything else the plugin's web services read is declared as the external location mintqo_sync.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class provider implements
    \core_privacy\local\metadata\provider,
    \core_privacy\local\request\core_userlist_provider,
    \core_privacy\local\request\plugin\provider {
    /**
     * The certificate table and the external location the web services feed.
     *
     * @param collection $collection
     * @return collection
     */
    public static function get_metadata(collection $collection): collection {
        $collection->add_database_table(certificates::TABLE, [
            'userid' => 'privacy:metadata:certificates:userid',
            'fullname' => 'privacy:metadata:certificates:fullname',
            'code' => 'privacy:metadata:certificates:code',
            'cohort' => 'privacy:metadata:certificates:cohort',
            'timeissued' => 'privacy:metadata:certificates:timeissued',
            'revoked' => 'privacy:metadata:certificates:revoked',
        ], 'privacy:metadata:certificates');
        $collection->add_external_location_link('mintqo_sync', [
            'userid' => 'privacy:metadata:mintqo_sync:userid',
            'fullname' => 'privacy:metadata:mintqo_sync:fullname',
            'email' => 'privacy:metadata:mintqo_sync:email',
            'enrolments' => 'privacy:metadata:mintqo_sync:enrolments',
            'completion' => 'privacy:metadata:mintqo_sync:completion',
            'quizresponses' => 'privacy:metadata:mintqo_sync:quizresponses',
        ], 'privacy:metadata:mintqo_sync');
        return $collection;
    }

    /**
     * The system context, when the user holds a certificate.
     *
     * @param int $userid
     * @return contextlist
     */
    public static function get_contexts_for_userid(int $userid): contextlist {
        $contextlist = new contextlist();
        $sql = "SELECT ctx.id
                  FROM {context} ctx
                 WHERE ctx.contextlevel = :contextlevel
                   AND EXISTS (SELECT 1 FROM {" . certificates::TABLE . "} c WHERE c.userid = :userid)";
        $contextlist->add_from_sql($sql, ['contextlevel' => CONTEXT_SYSTEM, 'userid' => $userid]);
        return $contextlist;
    }

    /**
     * Holders of certificates, in the system context.
     *
     * @param userlist $userlist
     */
    public static function get_users_in_context(userlist $userlist) {
        if (!$userlist->get_context() instanceof context_system) {
            return;
        }
        $userlist->add_from_sql('userid', "SELECT userid FROM {" . certificates::TABLE . "} WHERE userid IS NOT NULL", []);
    }

    /**
     * The user's certificates: code, name, cohort, date of issue, revoked.
     *
     * @param approved_contextlist $contextlist
     */
    public static function export_user_data(approved_contextlist $contextlist) {
        global $DB;
        $userid = (int)$contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            if (!$context instanceof context_system) {
                continue;
            }
            $records = $DB->get_records(certificates::TABLE, ['userid' => $userid], 'timeissued ASC, id ASC');
            if (!$records) {
                continue;
            }
            $data = [];
            foreach ($records as $record) {
                $data[] = (object)[
                    'code' => $record->code,
                    'fullname' => $record->fullname,
                    'cohort' => $record->cohort,
                    'timeissued' => transform::date($record->timeissued),
                    'revoked' => transform::yesno($record->revoked),
                    'timerevoked' => $record->revoked ? transform::date($record->timerevoked) : null,
                ];
            }
            writer::with_context($context)->export_data(
                [get_string('privacy:certificates', 'local_mintqo')],
                (object)['certificates' => $data]
            );
        }
    }

    /**
     * Every holder in the system context: their records stay without user and name.
     *
     * @param context $context
     */
    public static function delete_data_for_all_users_in_context(context $context) {
        global $DB;
        if (!$context instanceof context_system) {
            return;
        }
        $userids = $DB->get_fieldset_select(certificates::TABLE, 'DISTINCT userid', 'userid IS NOT NULL');
        certificates::forget_users(array_map('intval', $userids));
    }

    /**
     * One user: their records stay without user and name.
     *
     * @param approved_contextlist $contextlist
     */
    public static function delete_data_for_user(approved_contextlist $contextlist) {
        foreach ($contextlist->get_contexts() as $context) {
            if ($context instanceof context_system) {
                certificates::forget_users([(int)$contextlist->get_user()->id]);
            }
        }
    }

    /**
     * Several users: their records stay without user and name.
     *
     * @param approved_userlist $userlist
     */
    public static function delete_data_for_users(approved_userlist $userlist) {
        if ($userlist->get_context() instanceof context_system) {
            certificates::forget_users(array_map('intval', $userlist->get_userids()));
        }
    }
}
