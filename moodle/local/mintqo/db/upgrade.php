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

/**
 * Upgrade steps of local_mintqo.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/**
 * Upgrade the plugin from an older version: one savepoint per version bump.
 *
 * Web-service functions and the MINT-QO Sync service are re-read from db/services.php by Moodle on every
 * upgrade. The plugin's one table (local_mintqo_certificates, see db/install.xml) arrives with 1.3.0.
 *
 * @param int $oldversion the version installed before this upgrade
 * @return bool
 */
function xmldb_local_mintqo_upgrade($oldversion) {
    global $DB;
    $dbman = $DB->get_manager();

    if ($oldversion < 2025061100) {
        // 1.1.0: local_mintqo_get_plugin_info added to the functions and the MINT-QO Sync service;
        // import_quiz reuses questions of the course's question bank by idnumber.
        upgrade_plugin_savepoint(true, 2025061100, 'local', 'mintqo');
    }

    if ($oldversion < 2025061200) {
        // 1.2.0: local_mintqo_configure_courses and local_mintqo_upsert_events added to the functions and the
        // MINT-QO Sync service; activities gain dates, group submission and staff-only completion; quizzes are
        // self-analyses (no marks, no correctness, no grade).
        upgrade_plugin_savepoint(true, 2025061200, 'local', 'mintqo');
    }

    if ($oldversion < 2025112300) {
        // 1.3.0: keyset cursors for the read functions, enrolments and batch completion overrides for the sync,
        // one bulk read of course state for provisioning, certificate records for the public verify page.
        $table = new xmldb_table('local_mintqo_certificates');
        $table->add_field('id', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, XMLDB_SEQUENCE, null);
        $table->add_field('code', XMLDB_TYPE_CHAR, '20', null, XMLDB_NOTNULL, null, null);
        $table->add_field('userid', XMLDB_TYPE_INTEGER, '10', null, null, null, null);
        $table->add_field('fullname', XMLDB_TYPE_CHAR, '255', null, XMLDB_NOTNULL, null, '');
        $table->add_field('cohort', XMLDB_TYPE_CHAR, '40', null, XMLDB_NOTNULL, null, null);
        $table->add_field('timeissued', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('revoked', XMLDB_TYPE_INTEGER, '1', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('timerevoked', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('timecreated', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_field('timemodified', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0');
        $table->add_key('primary', XMLDB_KEY_PRIMARY, ['id']);
        $table->add_key('userid', XMLDB_KEY_FOREIGN, ['userid'], 'user', ['id']);
        $table->add_index('code', XMLDB_INDEX_UNIQUE, ['code']);
        if (!$dbman->table_exists($table)) {
            $dbman->create_table($table);
        }
        upgrade_plugin_savepoint(true, 2025112300, 'local', 'mintqo');
    }

    if ($oldversion < 2025112400) {
        // 1.4.0: local_mintqo_upsert_course_content added to the functions and the MINT-QO Sync service; no table.
        upgrade_plugin_savepoint(true, 2025112400, 'local', 'mintqo');
    }

    if ($oldversion < 2025112401) {
        // 1.4.1: get_quiz_responses reads quizzes by course too (courseids); no table.
        upgrade_plugin_savepoint(true, 2025112401, 'local', 'mintqo');
    }

    return true;
}
