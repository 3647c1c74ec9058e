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
 * Tests of local_mintqo_get_site_languages.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(get_site_languages::class)]
final class get_site_languages_test extends \advanced_testcase {
    /**
     * The site language and the installed packs (English at least), through the web-service layer.
     */
    public function test_lists_installed_languages(): void {
        global $CFG;
        $this->resetAfterTest();
        $this->setAdminUser();
        $_POST['sesskey'] = sesskey();

        $response = external_api::call_external_function('local_mintqo_get_site_languages', []);

        $this->assertFalse($response['error']);
        $this->assertSame($CFG->lang, $response['data']['defaultlang']);
        $codes = array_column($response['data']['languages'], 'code');
        $this->assertContains('en', $codes);
        $this->assertSame(array_keys(get_string_manager()->get_list_of_translations(true)), $codes);
        $this->assertSame($response['data'], external_api::call_external_function('local_mintqo_get_site_languages', [])['data']);
    }

    /**
     * No capability is needed: any logged-in account (the sync user without roles) may ask.
     */
    public function test_needs_no_capability(): void {
        $this->resetAfterTest();
        $this->setUser($this->getDataGenerator()->create_user());

        $result = external_api::clean_returnvalue(get_site_languages::execute_returns(), get_site_languages::execute());

        $this->assertNotEmpty($result['languages']);
    }

    /**
     * Parameters the function does not take are refused.
     */
    public function test_bad_parameters(): void {
        $this->resetAfterTest();
        $this->setAdminUser();
        $_POST['sesskey'] = sesskey();

        $response = external_api::call_external_function('local_mintqo_get_site_languages', ['lang' => 'de']);

        $this->assertTrue($response['error']);
        $this->assertSame('invalidparameter', $response['exception']->errorcode);
    }
}
