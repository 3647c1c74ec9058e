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
 * Web service functions and the least-privilege "MINT-QO Sync" service.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$functions = [
    'local_mintqo_get_site_languages' => [
        'classname' => 'local_mintqo\external\get_site_languages',
        'description' => 'Installed language packs and the site default language.',
        'type' => 'read',
        'capabilities' => '',
    ],
    'local_mintqo_get_plugin_info' => [
        'classname' => 'local_mintqo\external\get_plugin_info',
        'description' => 'The installed plugin version and whether the Moodle release is one the plugin supports.',
        'type' => 'read',
        'capabilities' => '',
    ],
    'local_mintqo_upsert_sections' => [
        'classname' => 'local_mintqo\external\upsert_sections',
        'description' => 'Create missing course sections and set their name, summary and visibility.',
        'type' => 'write',
        'capabilities' => 'local/mintqo:provision, moodle/course:update',
    ],
    'local_mintqo_upsert_activities' => [
        'classname' => 'local_mintqo\external\upsert_activities',
        'description' => 'Create or update page, url, label and assign activities by idnumber; set course completion criteria.',
        'type' => 'write',
        'capabilities' => 'local/mintqo:provision, moodle/course:manageactivities',
    ],
    'local_mintqo_import_quiz' => [
        'classname' => 'local_mintqo\external\import_quiz',
        'description' => 'Create a quiz from Moodle XML questions with one section and grade item per dimension.',
        'type' => 'write',
        'capabilities' => 'local/mintqo:provision, moodle/course:manageactivities, moodle/question:add',
    ],
    'local_mintqo_get_quiz_responses' => [
        'classname' => 'local_mintqo\external\get_quiz_responses',
        'description' => 'Per-question answers of finished quiz attempts, paged and filtered by modification time.',
        'type' => 'read',
        'capabilities' => 'mod/quiz:viewreports',
    ],
    'local_mintqo_configure_courses' => [
        'classname' => 'local_mintqo\external\configure_courses',
        'description' => 'Name the announcements forum and switch the manual enrolment welcome message on or off.',
        'type' => 'write',
        'capabilities' => 'local/mintqo:provision, moodle/course:update',
    ],
    'local_mintqo_upsert_events' => [
        'classname' => 'local_mintqo\external\upsert_events',
        'description' => 'Create or update course calendar events by idnumber.',
        'type' => 'write',
        'capabilities' => 'local/mintqo:provision, moodle/calendar:manageentries',
    ],
    'local_mintqo_publish_certificates' => [
        'classname' => 'local_mintqo\external\publish_certificates',
        'description' => 'Certificate records (code, name, cohort, date, revoked) for the public verify page, idempotent by code.',
        'type' => 'write',
        'capabilities' => 'local/mintqo:publishcertificates',
    ],
    'local_mintqo_get_course_state' => [
        'classname' => 'local_mintqo\external\get_course_state',
        'description' => 'What provisioning compares, for many courses in one call: sections, activities, quizzes, '
            . 'groups, enrolments and users, raw and paged.',
        'type' => 'read',
        'capabilities' => 'moodle/course:update, moodle/course:viewparticipants, moodle/course:managegroups, '
            . 'moodle/role:assign',
    ],
    'local_mintqo_get_completions' => [
        'classname' => 'local_mintqo\external\get_completions',
        'description' => 'Activity and course completion states of several courses, paged and filtered by modification time.',
        'type' => 'read',
        'capabilities' => 'report/progress:view',
    ],
    'local_mintqo_get_enrolments' => [
        'classname' => 'local_mintqo\external\get_enrolments',
        'description' => 'Enrolments, roles and group memberships of courses changed after a cursor, with a digest per course.',
        'type' => 'read',
        'capabilities' => 'moodle/course:enrolreview, moodle/site:accessallgroups',
    ],
    'local_mintqo_set_completions' => [
        'classname' => 'local_mintqo\external\set_completions',
        'description' => 'Set the completion of one activity for many users as overrides, all or nothing.',
        'type' => 'write',
        'capabilities' => 'moodle/course:overridecompletion',
    ],
    'local_mintqo_upsert_course_content' => [
        'classname' => 'local_mintqo\external\upsert_course_content',
        'description' => 'The whole content of many courses in one call, all or nothing: sections, activities, quizzes from '
            . 'shared question sets, completion criteria and events.',
        'type' => 'write',
        'capabilities' => 'local/mintqo:provision, moodle/course:update, moodle/course:manageactivities, '
            . 'moodle/question:add, moodle/calendar:manageentries',
    ],
];

$services = [
    'MINT-QO Sync' => [
        'shortname' => 'mintqo_sync',
        'functions' => [
            'local_mintqo_get_site_languages',
            'local_mintqo_get_plugin_info',
            'local_mintqo_upsert_sections',
            'local_mintqo_upsert_activities',
            'local_mintqo_import_quiz',
            'local_mintqo_get_quiz_responses',
            'local_mintqo_get_completions',
            'local_mintqo_get_course_state',
            'local_mintqo_configure_courses',
            'local_mintqo_upsert_events',
            'local_mintqo_get_enrolments',
            'local_mintqo_set_completions',
            'local_mintqo_publish_certificates',
            'local_mintqo_upsert_course_content',
            'core_webservice_get_site_info',
            'core_course_create_categories',
            'core_course_get_categories',
            'core_course_create_courses',
            'core_course_update_courses',
            'core_course_get_courses_by_field',
            'core_course_get_contents',
            'core_user_create_users',
            'core_user_get_users_by_field',
            'enrol_manual_enrol_users',
            'enrol_manual_unenrol_users',
            'core_enrol_get_enrolled_users',
            'core_group_create_groups',
            'core_group_add_group_members',
            'core_group_get_course_groups',
            'core_completion_get_activities_completion_status',
            'core_completion_get_course_completion_status',
            'core_completion_override_activity_completion_status',
            'mod_quiz_get_quizzes_by_courses',
            'core_message_send_instant_messages',
            'core_role_assign_roles',
        ],
        'restrictedusers' => 1,
        'enabled' => 1,
        'downloadfiles' => 0,
        'uploadfiles' => 0,
    ],
];
