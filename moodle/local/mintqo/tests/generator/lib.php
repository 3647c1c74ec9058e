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
 * Test data generator of local_mintqo: Moodle XML with self-analysis questions.
 *
 * @package    local_mintqo
 * @category   test
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class local_mintqo_generator extends component_generator_base {
    /** @var string[] the three answers of the test scale, in their defined order */
    public const SCALE = ['trifft voll zu', 'trifft teilweise zu', 'trifft nicht zu'];

    /**
     * Moodle XML with one Likert multichoice question per idnumber, as the instrument compiles to.
     *
     * @param string[] $idnumbers
     * @return string
     */
    public function questions_xml(array $idnumbers): string {
        $fractions = [100, 50, 0];
        $xml = '<?xml version="1.0" encoding="UTF-8"?>' . "\n<quiz>\n";
        foreach ($idnumbers as $idnumber) {
            $xml .= '<question type="multichoice"><name><text>' . s($idnumber) . '</text></name>'
                . '<questiontext format="html"><text>Aussage ' . s($idnumber) . ' &amp; „Umlaute“ äöü</text></questiontext>'
                . '<generalfeedback format="html"><text></text></generalfeedback>'
                . '<defaultgrade>1</defaultgrade><penalty>0</penalty><hidden>0</hidden>'
                . '<idnumber>' . s($idnumber) . '</idnumber>'
                . '<single>true</single><shuffleanswers>false</shuffleanswers><answernumbering>none</answernumbering>';
            foreach (self::SCALE as $index => $answer) {
                $xml .= '<answer fraction="' . $fractions[$index] . '" format="html"><text>' . $answer . '</text></answer>';
            }
            $xml .= "</question>\n";
        }
        return $xml . "</quiz>\n";
    }

    /**
     * A self-analysis quiz made with local_mintqo_import_quiz (the current user needs its capabilities).
     *
     * @param int $courseid
     * @param string $idnumber quiz idnumber
     * @param array $sections heading => question idnumbers
     * @return array the function's answer
     */
    public function create_quiz(int $courseid, string $idnumber, array $sections): array {
        $requestsections = [];
        foreach ($sections as $heading => $idnumbers) {
            $requestsections[] = ['heading' => (string)$heading, 'questionidnumbers' => $idnumbers];
        }
        $all = array_merge(...array_values($sections));
        return \local_mintqo\external\import_quiz::execute(
            $courseid,
            1,
            $idnumber,
            'Selbstanalyse ' . $idnumber,
            '',
            $this->questions_xml($all),
            $requestsections,
            []
        );
    }
}
