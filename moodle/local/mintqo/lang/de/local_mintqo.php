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
 * German strings for local_mintqo.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['activitytypemismatch'] = 'Die ID-Nummer „{$a->idnumber}“ gehört zu einer Aktivität vom Typ {$a->existing}, nicht {$a->requested}.';
$string['completionnotenabled'] = 'Für die Aktivität {$a} ist der Abschluss nicht aktiviert.';
$string['duplicatequestionidnumber'] = 'Die Fragen-ID-Nummer „{$a}“ kommt mehrfach vor.';
$string['invalidcompletioncriteria'] = 'Abschlusskriterium „{$a}“ ist keine Aktivität dieses Kurses mit aktivierter Abschlussverfolgung.';
$string['invalidsection'] = 'Ungültiger Abschnitt: {$a}.';
$string['mintqo:provision'] = 'MINT-QO-Kurse, -Aktivitäten und -Tests einrichten';
$string['mintqo:publishcertificates'] = 'Teilnahmebescheinigungen für die Prüfseite veröffentlichen';
$string['mintqo:viewteamanalysis'] = 'Selbstanalyse der eigenen Initiative (Team) ansehen';
$string['notateamquiz'] = 'Diese Aktivität ist keine Selbstanalyse der MINT-Qualitätsoffensive.';
$string['pluginname'] = 'MINT-QO-Webservices';
$string['privacy:certificates'] = 'Teilnahmebescheinigungen';
$string['privacy:metadata:certificates'] = 'Teilnahmebescheinigungen, die der Dienst mintqo-lms ausgestellt hat; gespeichert, damit jede Person mit dem Prüfcode einer Bescheinigung sie auf der Prüfseite prüfen kann.';
$string['privacy:metadata:certificates:code'] = 'Der auf der Bescheinigung gedruckte Prüfcode.';
$string['privacy:metadata:certificates:cohort'] = 'Der Durchgang (Jahrgang) der Qualifizierung.';
$string['privacy:metadata:certificates:fullname'] = 'Der auf der Bescheinigung gedruckte Name.';
$string['privacy:metadata:certificates:revoked'] = 'Ob und wann die Bescheinigung widerrufen wurde.';
$string['privacy:metadata:certificates:timeissued'] = 'Das Ausstellungsdatum.';
$string['privacy:metadata:certificates:userid'] = 'Die Person, der die Bescheinigung ausgestellt wurde.';
$string['privacy:metadata:mintqo_sync'] = 'Der Synchronisationsdienst mintqo-lms der MINT-Qualitätsoffensive liest über die Webservices dieses Plugins Teilnehmendendaten, um das Programm und seine Auswertungen durchzuführen.';
$string['privacy:metadata:mintqo_sync:completion'] = 'Abschlussstatus von Aktivitäten und Kursen.';
$string['privacy:metadata:mintqo_sync:email'] = 'Die E-Mail-Adresse der Person.';
$string['privacy:metadata:mintqo_sync:enrolments'] = 'Die Kurse und Gruppen, in die die Person eingeschrieben ist.';
$string['privacy:metadata:mintqo_sync:fullname'] = 'Der vollständige Name der Person.';
$string['privacy:metadata:mintqo_sync:quizresponses'] = 'Die Antworten in Selbsteinschätzungs-Tests.';
$string['privacy:metadata:mintqo_sync:userid'] = 'Die ID der Person.';
$string['questionimportfailed'] = 'Der Fragenimport ist fehlgeschlagen: {$a}';
$string['quizstructuremissing'] = 'Ein Test (quiz) braucht die Teststruktur (questionset, sections, settings).';
$string['quizstructurenotallowed'] = 'Nur ein Test (quiz) hat eine Teststruktur, keine Aktivität vom Typ {$a}.';
$string['teamanalysis'] = 'Unsere Selbstanalyse im Team';
$string['teamanalysis_answer'] = 'Antwort unseres Teams';
$string['teamanalysis_choosegroup'] = 'Initiative';
$string['teamanalysis_group'] = 'Initiative: {$a}';
$string['teamanalysis_noanswer'] = 'keine Angabe';
$string['teamanalysis_nogroup'] = 'Sie sind in diesem Kurs keiner Initiative zugeordnet. Bitte wenden Sie sich an Ihre Regionalkoordination.';
$string['teamanalysis_nogroups'] = 'In diesem Kurs gibt es noch keine Initiativen (Gruppen).';
$string['teamanalysis_none'] = 'Ihr Team hat diese Selbstanalyse noch nicht abgeschickt. Eine Person schickt sie für die ganze Initiative ab.';
$string['teamanalysis_notmeaningful'] = 'Einschätzung: noch nicht aussagekräftig (weniger als die Hälfte der Aussagen beantwortet)';
$string['teamanalysis_result'] = 'Einschätzung: {$a} von 100';
$string['teamanalysis_rule'] = 'Eine Person schickt die Selbstanalyse für die ganze Initiative ab. Für das Team gilt die Analyse, die zuletzt abgeschickt wurde.';
$string['teamanalysis_scale'] = 'Die Einschätzung eines Bereichs reicht von 0 (alle Aussagen „{$a->low}“) bis 100 (alle Aussagen „{$a->high}“); sie berücksichtigt die beantworteten Aussagen.';
$string['teamanalysis_statement'] = 'Aussage';
$string['teamanalysis_submitted'] = 'Abgeschickt von {$a->name} am {$a->date}.';
$string['teamanalysis_toquiz'] = 'Zur Selbstanalyse';
$string['unknownquestionidnumber'] = 'Unbekannte oder keinem Abschnitt zugeordnete Fragen-ID-Nummer: {$a}';
$string['unknownquestionset'] = 'Unbekannter Fragensatz: {$a}';
$string['unknownteamquiz'] = 'Der Team-Test „{$a}“ ist kein Test dieses Kurses.';
$string['unsupportedmodule'] = 'Aktivitätstyp „{$a}“ wird nicht unterstützt (page, url, label, assign).';
$string['usernottracked'] = 'Nutzer/in {$a} ist in diesem Kurs nicht als Teilnehmer/in eingeschrieben, deren Abschluss verfolgt wird.';
$string['verify_code'] = 'Prüfcode';
$string['verify_cohort'] = 'Durchgang';
$string['verify_date'] = 'Ausgestellt am';
$string['verify_intro'] = 'Geben Sie den Prüfcode ein, der auf der Teilnahmebescheinigung steht, oder scannen Sie ihren QR-Code.';
$string['verify_name'] = 'Name';
$string['verify_namenotkept'] = '(auf Wunsch der Person nicht mehr gespeichert)';
$string['verify_revoked'] = 'Widerrufen';
$string['verify_revoked_text'] = 'Diese Teilnahmebescheinigung wurde widerrufen und ist nicht mehr gültig.';
$string['verify_submit'] = 'Prüfen';
$string['verify_title'] = 'Teilnahmebescheinigung prüfen';
$string['verify_unknown'] = 'Unbekannt';
$string['verify_unknown_text'] = 'Zu diesem Prüfcode gibt es keine Teilnahmebescheinigung. Bitte prüfen Sie Ihre Eingabe.';
$string['verify_valid'] = 'Gültig';
$string['verify_valid_text'] = 'Diese Teilnahmebescheinigung ist echt und gültig.';
