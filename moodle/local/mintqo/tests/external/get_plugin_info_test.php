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

use core_external\external_api;

/**
 * Tests of local_mintqo_get_plugin_info.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(get_plugin_info::class)]
final class get_plugin_info_test extends \advanced_testcase {
    /**
     * Plugin version, release, requires and supported range from version.php; the site's release and branch.
     */
    public function test_reports_plugin_and_moodle_release(): void {
        global $CFG;
        $this->resetAfterTest();
        $this->setAdminUser();
        $_POST['sesskey'] = sesskey();
        $plugin = new \stdClass();
        require($CFG->dirroot . '/local/mintqo/version.php');

        $response = external_api::call_external_function('local_mintqo_get_plugin_info', []);

        $this->assertFalse($response['error']);
        $info = $response['data'];
        $this->assertSame('local_mintqo', $info['component']);
        $this->assertSame((int)get_config('local_mintqo', 'version'), $info['version']);
        $this->assertSame((int)$plugin->version, $info['version']);
        $this->assertSame($plugin->release, $info['release']);
        $this->assertSame((int)$plugin->requires, $info['requires']);
        $this->assertSame($plugin->supported, $info['supported']);
        $this->assertSame($CFG->release, $info['moodle_release']);
        $this->assertSame((string)$CFG->version, $info['moodle_version']);
        $this->assertSame((int)$CFG->branch, $info['moodle_branch']);
        $this->assertSame(
            $plugin->supported[0] <= (int)$CFG->branch && (int)$CFG->branch <= $plugin->supported[1],
            $info['moodle_supported']
        );
        // The three harness releases (4.4, 5.0, 5.1) are all in the declared range.
        $this->assertTrue($info['moodle_supported']);
    }

    /**
     * A branch outside the range is reported as unsupported.
     */
    public function test_unsupported_branch(): void {
        global $CFG;
        $this->resetAfterTest();
        $this->setAdminUser();
        $CFG->branch = '999';

        $info = external_api::clean_returnvalue(get_plugin_info::execute_returns(), get_plugin_info::execute());

        $this->assertSame(999, $info['moodle_branch']);
        $this->assertFalse($info['moodle_supported']);
    }

    /**
     * No capability is needed: any logged-in account may ask.
     */
    public function test_needs_no_capability(): void {
        $this->resetAfterTest();
        $this->setUser($this->getDataGenerator()->create_user());

        $info = external_api::clean_returnvalue(get_plugin_info::execute_returns(), get_plugin_info::execute());

        $this->assertSame('local_mintqo', $info['component']);
    }

    /**
     * Parameters the function does not take are refused; the function is part of the MINT-QO Sync service.
     */
    public function test_bad_parameters_and_service(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $_POST['sesskey'] = sesskey();

        $response = external_api::call_external_function('local_mintqo_get_plugin_info', ['verbose' => 1]);

        $this->assertTrue($response['error']);
        $this->assertSame('invalidparameter', $response['exception']->errorcode);
        $serviceid = $DB->get_field('external_services', 'id', ['shortname' => 'mintqo_sync'], MUST_EXIST);
        $this->assertTrue($DB->record_exists(
            'external_services_functions',
            ['externalserviceid' => $serviceid, 'functionname' => 'local_mintqo_get_plugin_info']
        ));
    }
}
