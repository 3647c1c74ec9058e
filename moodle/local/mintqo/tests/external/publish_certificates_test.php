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
use local_mintqo\local\certificates;
use local_mintqo\local\helper;

/**
 * Tests of local_mintqo_publish_certificates: certificate records for the verify page, idempotent by code.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
#[\PHPUnit\Framework\Attributes\CoversClass(publish_certificates::class)]
final class publish_certificates_test extends \advanced_testcase {
    /**
     * Call the function and clean its answer as the web service layer does.
     *
     * @param array $certificates
     * @return array statuses by code
     */
    protected function publish(array $certificates): array {
        $result = publish_certificates::execute($certificates);
        $result = external_api::clean_returnvalue(publish_certificates::execute_returns(), $result);
        return array_column($result['certificates'], 'status', 'code');
    }

    /**
     * A certificate record as the service sends it.
     *
     * @param string $code
     * @param int $userid
     * @param array $extra
     * @return array
     */
    protected static function record(string $code, int $userid, array $extra = []): array {
        return $extra + ['code' => $code, 'userid' => $userid, 'fullname' => 'Jürgen Groß', 'cohort' => '2025',
            'timeissued' => 1763900000, 'revoked' => 0, 'timerevoked' => 0];
    }

    /**
     * New records are created, the same batch again changes nothing, a revocation updates only its record.
     */
    public function test_idempotent_by_code(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $user = $this->getDataGenerator()->create_user();

        $batch = [self::record('K7QM-2XVD-93HC', (int)$user->id), self::record('B021-Q3H3-ZQGP', 0, ['fullname' => ''])];
        $this->assertSame(
            ['K7QM-2XVD-93HC' => helper::STATUS_CREATED, 'B021-Q3H3-ZQGP' => helper::STATUS_CREATED],
            $this->publish($batch)
        );
        $this->assertSame(2, $DB->count_records(certificates::TABLE));
        $record = $DB->get_record(certificates::TABLE, ['code' => 'K7QM-2XVD-93HC'], '*', MUST_EXIST);
        $this->assertEquals($user->id, $record->userid);
        $this->assertSame('Jürgen Groß', $record->fullname);
        $this->assertSame('2025', $record->cohort);
        $this->assertEquals(0, $record->revoked);
        $this->assertNull($DB->get_field(certificates::TABLE, 'userid', ['code' => 'B021-Q3H3-ZQGP']));

        $this->assertSame(
            ['K7QM-2XVD-93HC' => helper::STATUS_UNCHANGED, 'B021-Q3H3-ZQGP' => helper::STATUS_UNCHANGED],
            $this->publish($batch)
        );

        $batch[0] = self::record('K7QM-2XVD-93HC', (int)$user->id, ['revoked' => 1, 'timerevoked' => 1763990000]);
        $this->assertSame(
            ['K7QM-2XVD-93HC' => helper::STATUS_UPDATED, 'B021-Q3H3-ZQGP' => helper::STATUS_UNCHANGED],
            $this->publish($batch)
        );
        $record = $DB->get_record(certificates::TABLE, ['code' => 'K7QM-2XVD-93HC'], '*', MUST_EXIST);
        $this->assertEquals(1, $record->revoked);
        $this->assertEquals(1763990000, $record->timerevoked);
        $this->assertSame(2, $DB->count_records(certificates::TABLE));
    }

    /**
     * A pseudonymised record (no user, no name) replaces the named one: the code stays.
     */
    public function test_republished_without_the_person(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $user = $this->getDataGenerator()->create_user();
        $this->publish([self::record('K7QM-2XVD-93HC', (int)$user->id)]);

        $this->assertSame(
            ['K7QM-2XVD-93HC' => helper::STATUS_UPDATED],
            $this->publish([self::record('K7QM-2XVD-93HC', 0, ['fullname' => ''])])
        );
        $record = $DB->get_record(certificates::TABLE, ['code' => 'K7QM-2XVD-93HC'], '*', MUST_EXIST);
        $this->assertNull($record->userid);
        $this->assertSame('', $record->fullname);
        $this->assertSame('2025', $record->cohort);
    }

    /**
     * One bad record refuses the whole batch: nothing is stored.
     */
    public function test_all_or_nothing(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $cases = [
            [self::record('K7QM-2XVD-93HC', 0), self::record('not-a-code', 0)],
            [self::record('K7QM-2XVD-93HC', 0), self::record('K7QM-2XVD-93HC', 0)],
            [self::record('K7QM-2XVD-93HC', 0), self::record('B021-Q3H3-ZQGP', 0, ['timeissued' => 0])],
        ];
        foreach ($cases as $batch) {
            try {
                $this->publish($batch);
                $this->fail('a bad record must refuse the batch');
            } catch (\invalid_parameter_exception $e) {
                $this->assertSame(0, $DB->count_records(certificates::TABLE));
            }
        }
    }

    /**
     * Without local/mintqo:publishcertificates nobody may publish: a teacher is refused.
     */
    public function test_requires_the_capability(): void {
        global $DB;
        $this->resetAfterTest();
        $course = $this->getDataGenerator()->create_course();
        $teacher = $this->getDataGenerator()->create_and_enrol($course, 'editingteacher');
        $this->setUser($teacher);

        $this->expectException(\required_capability_exception::class);
        try {
            $this->publish([self::record('K7QM-2XVD-93HC', 0)]);
        } finally {
            $this->assertSame(0, $DB->count_records(certificates::TABLE));
        }
    }

    /**
     * A user id that is no (longer an) account is stored as no user; the record itself stays.
     */
    public function test_unknown_user_is_no_link(): void {
        global $DB;
        $this->resetAfterTest();
        $this->setAdminUser();
        $this->publish([self::record('K7QM-2XVD-93HC', 987654)]);
        $this->assertNull($DB->get_field(certificates::TABLE, 'userid', ['code' => 'K7QM-2XVD-93HC']));
    }
}
