"""Fixtures of the real-Moodle end-to-end suite: a client for the site named in the environment.

Why environment variables: the site and its token live outside the repository (a token must never be
committed); without them the suite is skipped with the reason, so a normal `pytest` run stays offline.
"""

from __future__ import annotations

import os

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
