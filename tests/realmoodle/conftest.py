"""Fixtures of the real-Moodle end-to-end suite: a client for the site named in the environment.

Why environment variables: the site and its token live outside the repository (a token must never be
committed); without them the suite is skipped with the reason, so a normal `pytest` run stays offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

URL_VARIABLE = "MINTQO_TEST_MOODLE_URL"
TOKEN_VARIABLE = "MINTQO_TEST_MOODLE_TOKEN"


@pytest.fixture(scope="session")
def moodle():
    url = os.environ.get(URL_VARIABLE, "").strip()
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not url or not token:
        pytest.skip(f"real-Moodle tests need {URL_VARIABLE} and {TOKEN_VARIABLE} "
                    "(a site with local_mintqo installed and a token for its functions)")
    from mintqo_lms.moodle.client import MoodleClient

    return MoodleClient(url, token, allow_insecure_http=True)


PLUGIN_README = Path(__file__).resolve().parents[2] / "moodle" / "local" / "mintqo" / "README.md"

# Makes a non-admin service user holding a role with exactly the given capabilities, allowed to assign the
# four course roles, authorised for the plugin's service, and prints a token for it. Run with PHP CLI on
# the site's own code (MOODLE_DIR) because core Moodle has no web service that defines roles.
SERVICE_USER_PHP = r"""<?php
define('CLI_SCRIPT', true);
require(getenv('MOODLE_DIR') . '/config.php');
require_once($CFG->dirroot . '/user/lib.php');
[$username, $capabilities] = [$argv[1], json_decode($argv[2], true)];
$system = context_system::instance();
$userid = user_create_user((object)['username' => $username, 'password' => 'Sync-pass-1!' . $username,
    'firstname' => 'MINT-QO', 'lastname' => 'Sync', 'email' => $username . '@example.invalid',
    'auth' => 'manual', 'confirmed' => 1, 'mnethostid' => $CFG->mnet_localhost_id], false, false);
$roleid = create_role('MINT-QO Sync ' . $username, 'r' . $username, 'least privilege (tests)');
set_role_contextlevels($roleid, [CONTEXT_SYSTEM]);
foreach ($capabilities as $capability) {
    assign_capability($capability, CAP_ALLOW, $roleid, $system->id, true);
}
foreach ([1, 3, 4, 5] as $target) {
    core_role_set_assign_allowed($roleid, $target);
}
role_assign($roleid, $userid, $system->id);
$service = $DB->get_record('external_services', ['shortname' => 'mintqo_sync'], '*', MUST_EXIST);
$DB->insert_record('external_services_users', ['externalserviceid' => $service->id, 'userid' => $userid,
    'timecreated' => time()]);
$token = \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $userid, $system);
echo json_encode(['token' => $token, 'userid' => $userid]);
"""


def documented_capabilities() -> list[str]:
    """The capabilities of the sync role exactly as the plugin README lists them (the README is the contract)."""
    text = PLUGIN_README.read_text(encoding="utf-8")
    block = text[text.index('system role "MINT-QO Sync"'):text.index("Assign the role")]
    return re.findall(r"`([a-z]+/[a-z_]+:[a-z_]+)`", block)


def make_service_user(moodle_dir: str, tmp: Path, *, without: tuple[str, ...] = ()) -> str:
    """A token of a new non-admin user holding only the documented role (minus ``without``)."""
    script = tmp / "service_user.php"
    script.write_text(SERVICE_USER_PHP, encoding="utf-8")
    username = f"mintqo{uuid.uuid4().hex[:12]}"
    capabilities = [c for c in documented_capabilities() if c not in without]
    done = subprocess.run(["php", str(script), username, json.dumps(capabilities)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "MOODLE_DIR": moodle_dir})
    if done.returncode != 0:
        raise RuntimeError(f"could not create the service user: {done.stderr[-1500:] or done.stdout[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["token"]


@pytest.fixture(scope="session")
def restricted_moodle(tmp_path_factory):
    """A client whose token belongs to a non-admin user with only the README's role (needs MOODLE_DIR)."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    moodle_dir = os.environ.get("MOODLE_DIR", "").strip()
    if not url or not moodle_dir:
        pytest.skip(f"least-privilege tests need {URL_VARIABLE} and MOODLE_DIR (PHP CLI access to the site)")
    from mintqo_lms.moodle.client import MoodleClient

    token = make_service_user(moodle_dir, tmp_path_factory.mktemp("serviceuser"))
    return MoodleClient(url, token, allow_insecure_http=True)


@pytest.fixture
def service_user_token(tmp_path):
    """``service_user_token(without=(capability, …))``: a token of a new user with the README's role minus those."""
    moodle_dir = os.environ.get("MOODLE_DIR", "").strip()
    if not moodle_dir:
        pytest.skip("needs MOODLE_DIR: the Moodle code of the test site, to define a role with PHP CLI")
    return lambda without=(): make_service_user(moodle_dir, tmp_path, without=tuple(without))
