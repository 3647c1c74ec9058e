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

namespace local_mintqo\output;

use local_mintqo\local\certificates;

/**
 * The public verify page's renderable: valid, revoked or unknown with name, cohort and date, nothing else.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(verification::class)]
#[\PHPUnit\Framework\Attributes\CoversClass(certificates::class)]
final class verification_test extends \advanced_testcase {
    /**
     * Two records: a valid one of a user, a revoked one; returns the user.
     *
     * @return \stdClass
     */
    protected function setup_records(): \stdClass {
        global $DB;
        $this->resetAfterTest();
        $user = $this->getDataGenerator()->create_user(['email' => 'juergen@example.org']);
        $DB->insert_record(certificates::TABLE, (object)['code' => 'K7QM-2XVD-93HC', 'userid' => $user->id,
            'fullname' => 'Jürgen Groß', 'cohort' => '2025', 'timeissued' => 1763900000, 'revoked' => 0,
            'timerevoked' => 0, 'timecreated' => 1763900000, 'timemodified' => 1763900000]);
        $DB->insert_record(certificates::TABLE, (object)['code' => 'B021-Q3H3-ZQGP', 'userid' => null,
            'fullname' => 'Ada Öztürk', 'cohort' => '2025-herbst', 'timeissued' => 1763900000, 'revoked' => 1,
            'timerevoked' => 1763990000, 'timecreated' => 1763900000, 'timemodified' => 1763990000]);
        return $user;
    }

    /**
     * Export the page for what a visitor typed, as an anonymous visitor.
     *
     * @param string $typed
     * @return array
     */
    protected function page(string $typed): array {
        global $PAGE;
        $this->setUser(0);
        $record = $typed === '' ? null : certificates::find($typed);
        $page = new verification($typed, $record);
        return $page->export_for_template($PAGE->get_renderer('core'));
    }

    /**
     * A valid code, typed carelessly (lower case, spaces, O for 0), shows valid with the three fields.
     */
    public function test_valid(): void {
        $this->setup_records();
        $data = $this->page(' k7qm 2xvd 93hc ');
        $this->assertTrue($data['valid']);
        $this->assertSame('valid', $data['status']);
        $this->assertSame(get_string('verify_valid', 'local_mintqo'), $data['heading']);
        $values = array_column($data['fields'], 'value');
        $this->assertSame('Jürgen Groß', $values[0]);
        $this->assertSame('2025', $values[1]);
        $this->assertSame(userdate(1763900000, get_string('strftimedate', 'langconfig')), $values[2]);
        $this->assertSame('revoked', $this->page('b02l-q3h3-zqgp')['status']); // L reads as 1, o as 0.
    }

    /**
     * A revoked certificate says revoked, with name, cohort and date — not the reason or the date of revocation.
     */
    public function test_revoked(): void {
        $this->setup_records();
        $data = $this->page('B021-Q3H3-ZQGP');
        $this->assertTrue($data['revoked']);
        $this->assertFalse($data['valid']);
        $this->assertSame(['Ada Öztürk', '2025-herbst'], array_slice(array_column($data['fields'], 'value'), 0, 2));
        $this->assertStringNotContainsString(
            (string)userdate(1763990000, get_string('strftimedate', 'langconfig')),
            json_encode($data, JSON_UNESCAPED_UNICODE)
        );
    }

    /**
     * An unknown code (made up, or one typo) has the same shape as a known one, with dashes; no code shows only
     * the form.
     */
    public function test_unknown_has_the_same_shape(): void {
        $this->setup_records();
        $known = $this->page('K7QM-2XVD-93HC');
        foreach (['ZZZZ-ZZZZ-ZZZZ', 'K7QM-2XVD-93HD', 'x', '<script>'] as $typed) {
            $data = $this->page($typed);
            $this->assertTrue($data['unknown'], $typed);
            $this->assertSame(array_keys($known), array_keys($data));
            $this->assertSame(array_column($known['fields'], 'label'), array_column($data['fields'], 'label'));
            $this->assertSame(['—', '—', '—'], array_column($data['fields'], 'value'));
        }
        $empty = $this->page('');
        $this->assertFalse($empty['hasresult']);
        $this->assertArrayNotHasKey('fields', $empty);
    }

    /**
     * Nothing beyond the four answers: no e-mail, no user id, whatever the record holds.
     */
    public function test_shows_nothing_else(): void {
        global $PAGE;
        $user = $this->setup_records();
        $data = $this->page('K7QM-2XVD-93HC');
        $html = $PAGE->get_renderer('core')->render_from_template('local_mintqo/verification', $data);
        $this->assertStringContainsString('Jürgen Groß', $html);
        $this->assertStringNotContainsString('juergen@example.org', $html);
        $this->assertStringNotContainsString('userid', $html);
        $this->assertCount(3, $data['fields']);
        $this->assertNotEmpty($user->id);
    }

    /**
     * A record kept without the person (privacy deletion) still answers valid, without a name.
     */
    public function test_pseudonymised_record_still_answers(): void {
        $user = $this->setup_records();
        certificates::forget_users([(int)$user->id]);
        $data = $this->page('K7QM-2XVD-93HC');
        $this->assertTrue($data['valid']);
        $this->assertSame(get_string('verify_namenotkept', 'local_mintqo'), $data['fields'][0]['value']);
        $this->assertSame('2025', $data['fields'][1]['value']);
    }
}
