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
 * The plugin has no tables of its own. Web-service functions and the MINT-QO Sync service are re-read from
 * db/services.php by Moodle on every upgrade; the steps below only record that each version was reached.
 *
 * @param int $oldversion the version installed before this upgrade
 * @return bool
 */
function xmldb_local_mintqo_upgrade($oldversion) {
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
        upgrade_plugin_savepoint(true, 2025112300, 'local', 'mintqo');
    }

    return true;
}
