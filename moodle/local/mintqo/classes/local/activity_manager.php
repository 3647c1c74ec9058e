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

namespace local_mintqo\local;

use stdClass;

/**
 * Creates and updates the simple activity types through Moodle's own add_moduleinfo()/update_moduleinfo().
 *
 * Going through modlib (and not writing tables) keeps events, caches, gradebook items, calendar entries and
 * completion exactly as if a teacher had used the activity form. This class fills in the form fields each
 * module's *_add_instance()/*_update_instance() expects.
 *
 * @package    local_mintqo
 * @copyright  2025 MINT-Qualitätsoffensive
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class activity_manager {
    /** @var string[] Module types this plugin creates. */
    public const SUPPORTED_MODULES = ['page', 'url', 'label', 'assign'];

    /** @var string The capability a participant needs to mark manual completion themselves. */
    public const TOGGLE_CAPABILITY = 'moodle/course:togglecompletion';

    /** @var string[] Archetypes whose roles lose TOGGLE_CAPABILITY in an activity with selfcompletion = 0. */
    public const PARTICIPANT_ARCHETYPES = ['student', 'user'];

    /** @var stdClass course record */
    protected stdClass $course;

    /** @var bool whether completion tracking is enabled in the course */
    protected bool $completionenabled;

    /**
     * Constructor.
     *
     * @param stdClass $course
     */
    public function __construct(stdClass $course) {
        global $CFG;
        require_once($CFG->dirroot . '/course/modlib.php');
        require_once($CFG->libdir . '/completionlib.php');
        require_once($CFG->libdir . '/resourcelib.php');
        require_once($CFG->libdir . '/gradelib.php');
        $this->course = $course;
        $this->completionenabled = (new \completion_info($course))->is_enabled();
    }

    /**
     * The request reduced to what Moodle can store, so comparing with stored values is meaningful.
     *
     * Without course completion Moodle ignores completion settings; a request that asks for them would
     * otherwise look "changed" forever.
     *
     * @param array $activity validated request item
     * @return array normalised desired values
     */
    public function desired(array $activity): array {
        $completion = $this->completionenabled ? (int)$activity['completion'] : COMPLETION_TRACKING_NONE;
        // Only manual completion can be marked by anybody; otherwise the flag has nothing to restrict.
        $staffonly = $completion == COMPLETION_TRACKING_MANUAL && empty($activity['selfcompletion']);
        $viewrule = !empty($activity['completionview']);
        if ($staffonly && $activity['modname'] === 'label') {
            // Moodle always shows a label's manual "Mark as done" button (mod_label's custom_completion), so a
            // staff-only label gets automatic completion on "view", a rule nobody can meet: a label has no page to
            // view. Only an override completes it. See the README ("Attendance").
            $completion = COMPLETION_TRACKING_AUTOMATIC;
            $viewrule = true;
        }
        $automatic = $completion == COMPLETION_TRACKING_AUTOMATIC;
        $assign = $activity['modname'] === 'assign';
        return [
            'section' => (int)$activity['section'],
            'name' => (string)$activity['name'],
            'intro' => (string)$activity['intro'],
            'content' => $activity['modname'] === 'page' ? (string)$activity['content'] : '',
            'externalurl' => $activity['modname'] === 'url' ? (string)$activity['externalurl'] : '',
            'visible' => empty($activity['visible']) ? 0 : 1,
            'completion' => $completion,
            'completionview' => ($automatic && $viewrule) ? 1 : 0,
            'completionsubmit' => ($automatic && $activity['modname'] === 'assign' && !empty($activity['completionsubmit']))
                ? 1 : 0,
            'duedate' => $assign ? (int)$activity['duedate'] : 0,
            'completionexpected' => $completion == COMPLETION_TRACKING_NONE ? 0 : (int)$activity['completionexpected'],
            'allowsubmissionsfromdate' => $assign ? (int)$activity['allowsubmissionsfromdate'] : 0,
            'teamsubmission' => ($assign && !empty($activity['teamsubmission'])) ? 1 : 0,
            'selfcompletion' => $staffonly ? 0 : 1,
        ];
    }

    /**
     * The stored values of an existing activity, in the shape of desired().
     *
     * @param stdClass $cm course_modules row with modname
     * @return array
     */
    public function current(stdClass $cm): array {
        global $DB;
        $instance = $DB->get_record($cm->modname, ['id' => $cm->instance], '*', MUST_EXIST);
        $completion = $this->completionenabled ? (int)$cm->completion : COMPLETION_TRACKING_NONE;
        $automatic = $completion == COMPLETION_TRACKING_AUTOMATIC;
        return [
            'section' => (int)$DB->get_field('course_sections', 'section', ['id' => $cm->section]),
            'name' => (string)$instance->name,
            'intro' => (string)$instance->intro,
            'content' => $cm->modname === 'page' ? (string)$instance->content : '',
            'externalurl' => $cm->modname === 'url' ? (string)$instance->externalurl : '',
            'visible' => empty($cm->visible) ? 0 : 1,
            'completion' => $completion,
            'completionview' => ($automatic && !empty($cm->completionview)) ? 1 : 0,
            'completionsubmit' => ($automatic && $cm->modname === 'assign' && !empty($instance->completionsubmit)) ? 1 : 0,
            'duedate' => $cm->modname === 'assign' ? (int)$instance->duedate : 0,
            'completionexpected' => $completion == COMPLETION_TRACKING_NONE ? 0 : (int)$cm->completionexpected,
            'allowsubmissionsfromdate' => $cm->modname === 'assign' ? (int)$instance->allowsubmissionsfromdate : 0,
            'teamsubmission' => ($cm->modname === 'assign' && !empty($instance->teamsubmission)
                && empty($instance->requireallteammemberssubmit) && empty($instance->preventsubmissionnotingroup)) ? 1 : 0,
            'selfcompletion' => $this->selfcompletion_state((int)$cm->id),
        ];
    }

    /**
     * Create an activity with add_moduleinfo().
     *
     * @param string $modname
     * @param string $idnumber
     * @param array $desired from desired()
     * @return stdClass moduleinfo with coursemodule and instance
     */
    public function create(string $modname, string $idnumber, array $desired): stdClass {
        global $DB;
        $module = $DB->get_record('modules', ['name' => $modname], '*', MUST_EXIST);

        $data = new stdClass();
        $data->modulename = $modname;
        $data->module = $module->id;
        $data->course = $this->course->id;
        $data->section = $desired['section'];
        $data->cmidnumber = $idnumber;
        $data->name = $desired['name'];
        $data->intro = $desired['intro'];
        $data->introformat = FORMAT_HTML;
        $data->showdescription = 0;
        $data->visible = $desired['visible'];
        $data->visibleoncoursepage = 1;
        $data->groupmode = 0;
        $data->groupingid = 0;
        $data->availability = null;
        $data->completion = $desired['completion'];
        $data->completionview = $desired['completionview'];
        $data->completionexpected = $desired['completionexpected'];
        $data->completionpassgrade = 0;
        $this->add_module_fields($data, $desired, null);

        $moduleinfo = add_moduleinfo($data, $this->course);
        if (!$desired['selfcompletion']) {
            $this->set_selfcompletion((int)$moduleinfo->coursemodule, false);
        }
        return $moduleinfo;
    }

    /**
     * Update an activity with update_moduleinfo(), and move it when its section changed.
     *
     * @param stdClass $cm course_modules row with modname
     * @param array $desired from desired()
     * @param array $current from current()
     */
    public function update(stdClass $cm, array $desired, array $current): void {
        $cmrecord = get_coursemodule_from_id($cm->modname, $cm->id, $this->course->id, false, MUST_EXIST);
        [$cmrecord, $context, , $data] = get_moduleinfo_data($cmrecord, $this->course);

        $data->name = $desired['name'];
        $data->introeditor['text'] = $desired['intro'];
        $data->introeditor['format'] = FORMAT_HTML;
        $data->visible = $desired['visible'];

        $completionfields = ['completion', 'completionview', 'completionsubmit'];
        $completionchanged = false;
        foreach ($completionfields as $field) {
            $completionchanged = $completionchanged || $desired[$field] !== $current[$field];
        }
        if ($completionchanged) {
            // Tells update_moduleinfo() to store the new rules and recalculate everybody's state.
            $data->completionunlocked = 1;
            $data->completion = $desired['completion'];
            $data->completionview = $desired['completionview'];
        }
        // Stored whatever the completion lock: it does not affect anybody's state (Moodle's own rule).
        $data->completionexpected = $desired['completionexpected'];
        $this->add_module_fields($data, $desired, $context);

        update_moduleinfo($cmrecord, $data, $this->course);
        if ($desired['selfcompletion'] !== $current['selfcompletion']) {
            $this->set_selfcompletion((int)$cm->id, (bool)$desired['selfcompletion']);
        }

        if ($desired['section'] !== $current['section']) {
            course_create_sections_if_missing($this->course, $desired['section']);
            $modinfo = get_fast_modinfo($this->course);
            moveto_module($modinfo->get_cm($cm->id), $modinfo->get_section_info($desired['section']));
        }
    }

    /**
     * Module-specific form fields for *_add_instance() (when $context is null) or *_update_instance().
     *
     * @param stdClass $data moduleinfo being built
     * @param array $desired
     * @param \context_module|null $context the module context when updating
     */
    protected function add_module_fields(stdClass $data, array $desired, ?\context_module $context): void {
        switch ($data->modulename) {
            case 'page':
                $this->page_fields($data, $desired, $context);
                break;
            case 'url':
                $this->url_fields($data, $desired, $context);
                break;
            case 'assign':
                $this->assign_fields($data, $desired, $context);
                break;
            case 'label':
                // Label keeps everything in intro.
                break;
        }
    }

    /**
     * Display options stored serialised in page and url instances.
     *
     * @param stdClass $data
     * @param string $modname
     * @param bool $updating
     */
    protected function display_options(stdClass $data, string $modname, bool $updating): void {
        $config = get_config($modname);
        if ($updating) {
            $options = empty($data->displayoptions) ? [] : (array)unserialize_array($data->displayoptions);
        } else {
            $data->display = (int)($config->display ?? RESOURCELIB_DISPLAY_AUTO);
            $options = [];
        }
        $data->printintro = (int)($options['printintro'] ?? ($config->printintro ?? 1));
        $data->printlastmodified = (int)($options['printlastmodified'] ?? ($config->printlastmodified ?? 1));
        $data->popupwidth = (int)($options['popupwidth'] ?? ($config->popupwidth ?? 620));
        $data->popupheight = (int)($options['popupheight'] ?? ($config->popupheight ?? 450));
    }

    /**
     * Fields page_add_instance()/page_update_instance() read.
     *
     * @param stdClass $data
     * @param array $desired
     * @param \context_module|null $context
     */
    protected function page_fields(stdClass $data, array $desired, ?\context_module $context): void {
        $this->display_options($data, 'page', $context !== null);
        if ($context === null) {
            $data->content = $desired['content'];
            $data->contentformat = FORMAT_HTML;
            $data->revision = 1;
        }
        // Update reads the editor array; itemid 0 means "no draft files to save".
        $data->page = ['text' => $desired['content'], 'format' => FORMAT_HTML, 'itemid' => 0];
    }

    /**
     * Fields url_add_instance()/url_update_instance() read.
     *
     * @param stdClass $data
     * @param array $desired
     * @param \context_module|null $context
     */
    protected function url_fields(stdClass $data, array $desired, ?\context_module $context): void {
        $this->display_options($data, 'url', $context !== null);
        $data->externalurl = $desired['externalurl'];
        if ($context !== null && !empty($data->parameters)) {
            $i = 0;
            foreach ((array)unserialize_array($data->parameters) as $parameter => $variable) {
                $data->{'parameter_' . $i} = $parameter;
                $data->{'variable_' . $i} = $variable;
                $i++;
            }
        }
    }

    /**
     * Fields assign::add_instance()/update_instance() read, including the sub-plugin settings.
     *
     * The update path sends each sub-plugin's current state back, because assign disables every
     * sub-plugin whose "_enabled" flag is missing from the form data.
     *
     * @param stdClass $data
     * @param array $desired
     * @param \context_module|null $context
     */
    protected function assign_fields(stdClass $data, array $desired, ?\context_module $context): void {
        global $CFG;
        require_once($CFG->dirroot . '/mod/assign/locallib.php');

        $data->duedate = $desired['duedate'];
        $data->completionsubmit = $desired['completionsubmit'];
        $data->allowsubmissionsfromdate = $desired['allowsubmissionsfromdate'];
        // Group submission: any member submits for the whole group (the course's groups, no grouping); nobody
        // waits for the others, and nobody outside a group is blocked from submitting.
        $data->teamsubmission = $desired['teamsubmission'];
        $data->requireallteammemberssubmit = 0;
        $data->preventsubmissionnotingroup = 0;
        $data->teamsubmissiongroupingid = 0;
        if ($context === null) {
            $defaults = [
                'alwaysshowdescription' => 1,
                'submissiondrafts' => 0,
                'requiresubmissionstatement' => 0,
                'sendnotifications' => 0,
                'sendlatenotifications' => 0,
                'sendstudentnotifications' => 1,
                'cutoffdate' => 0,
                'gradingduedate' => 0,
                'grade' => 100,
                'blindmarking' => 0,
                'hidegrader' => 0,
                'attemptreopenmethod' => (string)(get_config('assign', 'attemptreopenmethod') ?: 'untilpass'),
                'maxattempts' => (int)(get_config('assign', 'maxattempts') ?: -1),
                'markingworkflow' => 0,
                'markingallocation' => 0,
                'markinganonymous' => 0,
                'activityformat' => FORMAT_HTML,
                'timelimit' => 0,
                'submissionattachments' => 0,
                'gradepenalty' => 0,
            ];
            foreach ($defaults as $field => $value) {
                $data->$field = $value;
            }
            foreach (\core_component::get_plugin_list('assignsubmission') as $type => $unused) {
                $data->{'assignsubmission_' . $type . '_enabled'} = (int)get_config('assignsubmission_' . $type, 'default');
            }
            foreach (\core_component::get_plugin_list('assignfeedback') as $type => $unused) {
                $data->{'assignfeedback_' . $type . '_enabled'} = (int)get_config('assignfeedback_' . $type, 'default');
            }
            $data->assignsubmission_file_maxfiles = (int)get_config('assignsubmission_file', 'maxfiles');
            $data->assignsubmission_file_maxsizebytes = (int)get_config('assignsubmission_file', 'maxbytes');
            $data->assignsubmission_file_filetypes = '';
            $data->assignsubmission_onlinetext_wordlimit = 0;
            $data->assignsubmission_onlinetext_wordlimit_enabled = 0;
            $data->assignfeedback_comments_commentinline = (int)get_config('assignfeedback_comments', 'inline');
            return;
        }

        $assign = new \assign($context, null, $this->course);
        foreach ($assign->get_submission_plugins() as $plugin) {
            $data->{'assignsubmission_' . $plugin->get_type() . '_enabled'} = $plugin->is_enabled() ? 1 : 0;
        }
        foreach ($assign->get_feedback_plugins() as $plugin) {
            $data->{'assignfeedback_' . $plugin->get_type() . '_enabled'} = $plugin->is_enabled() ? 1 : 0;
        }
        $file = $assign->get_submission_plugin_by_type('file');
        if ($file) {
            $data->assignsubmission_file_maxfiles = (int)$file->get_config('maxfilesubmissions');
            $data->assignsubmission_file_maxsizebytes = (int)$file->get_config('maxsubmissionsizebytes');
            $data->assignsubmission_file_filetypes = (string)$file->get_config('filetypeslist');
        }
        $onlinetext = $assign->get_submission_plugin_by_type('onlinetext');
        if ($onlinetext) {
            $data->assignsubmission_onlinetext_wordlimit = (int)$onlinetext->get_config('wordlimit');
            $data->assignsubmission_onlinetext_wordlimit_enabled = (int)$onlinetext->get_config('wordlimitenabled');
        }
        $comments = $assign->get_feedback_plugin_by_type('comments');
        if ($comments) {
            $data->assignfeedback_comments_commentinline = (int)$comments->get_config('commentinline');
        }
    }

    /**
     * The roles that lose the right to mark an activity complete themselves: every role of the participant
     * archetypes (student, authenticated user), whatever their ids on this site.
     *
     * @return int[] role ids
     */
    public static function participant_roles(): array {
        $roleids = [];
        foreach (self::PARTICIPANT_ARCHETYPES as $archetype) {
            foreach (get_archetype_roles($archetype) as $role) {
                $roleids[(int)$role->id] = (int)$role->id;
            }
        }
        ksort($roleids);
        return array_values($roleids);
    }

    /**
     * Who may mark the activity complete, in the shape of desired()['selfcompletion']: 0 when every participant role
     * has a CAP_PREVENT override of moodle/course:togglecompletion in the module context, 1 when none has, -1 for
     * anything in between (which any request repairs).
     *
     * @param int $cmid
     * @return int
     */
    public function selfcompletion_state(int $cmid): int {
        global $DB;
        $context = \context_module::instance($cmid);
        $roleids = self::participant_roles();
        $prevented = 0;
        foreach ($roleids as $roleid) {
            $permission = $DB->get_field('role_capabilities', 'permission', [
                'contextid' => $context->id,
                'roleid' => $roleid,
                'capability' => self::TOGGLE_CAPABILITY,
            ]);
            $prevented += ((int)$permission === CAP_PREVENT) ? 1 : 0;
        }
        if ($prevented === 0) {
            return 1;
        }
        return $prevented === count($roleids) ? 0 : -1;
    }

    /**
     * Let participants mark the activity complete themselves again, or keep that to users with
     * moodle/course:overridecompletion (the coordinator or programme staff, in Moodle's completion report or through
     * core_completion_override_activity_completion_status).
     *
     * Restricting means a CAP_PREVENT override of moodle/course:togglecompletion for every participant role in the
     * module context: Moodle then refuses their own "Mark as done" in the UI and over web services. (Labels also get
     * a completion rule nobody can meet, see desired(), so that they show no button.) See the README ("Attendance").
     *
     * @param int $cmid
     * @param bool $allowed true: participants may mark it themselves (the default)
     */
    public function set_selfcompletion(int $cmid, bool $allowed): void {
        $context = \context_module::instance($cmid);
        foreach (self::participant_roles() as $roleid) {
            // An explicit override for every participant role, also one that has no toggle right today: it keeps
            // holding if a site later grants the capability to students.
            if ($allowed) {
                unassign_capability(self::TOGGLE_CAPABILITY, $roleid, $context->id);
            } else {
                assign_capability(self::TOGGLE_CAPABILITY, CAP_PREVENT, $roleid, $context->id, true);
            }
        }
    }
}
