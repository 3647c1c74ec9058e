"""The REST client against canned answers taken from a real Moodle 4.4 (tests/data/moodle/recordings)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from pydantic import ValidationError

from mintqo_lms.moodle import Moodle
from mintqo_lms.moodle.client import MoodleClient, check_url
from mintqo_lms.moodle.encoding import encode_params
from mintqo_lms.moodle.models import MoodleModel
from mintqo_lms.moodle.errors import (
    AccessDeniedError,
    IncompleteBatchError,
    InsecureURLError,
    InvalidParameterError,
    InvalidTokenError,
    MissingRecordError,
    MoodleConnectionError,
    MoodleHTTPError,
    MoodleProtocolError,
    MoodleRemoteError,
    RequestTooLargeError,
    error_from_answer,
)


RECORDINGS = Path(__file__).resolve().parent / "data" / "moodle" / "recordings"
URL = "https://moodle.example.org"
ENDPOINT = URL + "/webservice/rest/server.php"
TOKEN = "5ecr3t70k3n5ecr3t70k3n5ecr3t70k"


def make_client(**kwargs) -> MoodleClient:
    sleeps: list[float] = []
    client = MoodleClient(URL, TOKEN, sleep=sleeps.append, **kwargs)
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def body_fields(request) -> list[tuple[str, str]]:
    return parse_qsl(request.body, keep_blank_values=True)


# -- encoding ---------------------------------------------------------------------------------------

def test_nested_params_are_encoded_php_style_with_unicode_booleans_and_none():
    fields = encode_params({
        "users": [{
            "username": "joerg.mueller", "lastname": "Müller-Lüdenscheidt", "createpassword": False,
            "customfields": [{"type": "region", "value": "NRW"}, {"type": "netz", "value": "Köln"}],
            "idnumber": None,
        }],
        "addsubcategories": True,
    })
    assert fields == [
        ("users[0][username]", "joerg.mueller"),
        ("users[0][lastname]", "Müller-Lüdenscheidt"),
        ("users[0][createpassword]", "0"),
        ("users[0][customfields][0][type]", "region"),
        ("users[0][customfields][0][value]", "NRW"),
        ("users[0][customfields][1][type]", "netz"),
        ("users[0][customfields][1][value]", "Köln"),
        ("addsubcategories", "1"),
    ]


@responses.activate
def test_call_posts_protocol_fields_first_and_never_puts_the_token_in_the_url():
    responses.post(ENDPOINT, json=[{"id": 3, "username": "joerg.mueller"}])
    make_client().call("core_user_get_users_by_field", field="lastname", values=["Müller-Lüdenscheidt"])
    request = responses.calls[0].request
    assert request.method == "POST"
    assert TOKEN not in request.url
    fields = body_fields(request)
    assert fields[:3] == [("wstoken", TOKEN), ("wsfunction", "core_user_get_users_by_field"),
                          ("moodlewsrestformat", "json")]
    assert ("values[0]", "Müller-Lüdenscheidt") in fields
    assert "M%C3%BCller" in request.body  # UTF-8, percent-encoded


@responses.activate
def test_recorded_json_null_answer_of_enrol_is_none():
    responses.post(ENDPOINT, body="null", content_type="application/json")
    assert make_client().call("enrol_manual_enrol_users",
                              enrolments=[{"roleid": 5, "userid": 3, "courseid": 2}]) is None


# -- errors, with the exact JSON real Moodle returned -------------------------------------------

@pytest.mark.parametrize(("file", "function", "note", "error_class", "errorcode"), [
    ("07_protocol_edge_cases.json", "core_webservice_get_site_info", "wrong token", InvalidTokenError, "invalidtoken"),
    ("07_protocol_edge_cases.json", "core_course_get_contents", "missing required", InvalidParameterError,
     "invalidparameter"),
    ("07_protocol_edge_cases.json", "core_course_get_contents", "non-existent course", MissingRecordError,
     "invalidrecord"),
    ("07_protocol_edge_cases.json", "core_does_not_exist", "unknown function", MissingRecordError, "invalidrecord"),
    ("01_categories_courses.json", "core_course_create_courses", "shortname already exists", MoodleRemoteError,
     "shortnametaken"),
    ("03_enrolments_groups.json", "enrol_manual_enrol_users", "role 99", AccessDeniedError, "wsusercannotassign"),
    ("03_enrolments_groups.json", "enrol_manual_enrol_users", "non-existent user", MoodleRemoteError, "codingerror"),
    ("04_completion_quiz.json", "core_completion_get_course_completion_status", "", MoodleRemoteError,
     "nocriteriaset"),
])
@responses.activate
def test_recorded_moodle_errors_raise_typed_exceptions(recording, file, function, note, error_class, errorcode):
    record = recording(file, function, note)
    assert record["http_status"] == 200  # Moodle reports errors with HTTP 200
    responses.post(ENDPOINT, body=record["response_raw"], status=200, content_type="application/json")
    with pytest.raises(error_class) as caught:
        make_client().call(function)
    assert caught.value.errorcode == errorcode
    assert caught.value.function == function
    assert errorcode in str(caught.value)


@responses.activate
def test_debuginfo_is_kept_when_the_site_debugs(recording):
    record = recording("08_errors_debug_developer.json", "core_user_create_users", "duplicate username")
    responses.post(ENDPOINT, body=record["response_raw"], content_type="application/json")
    with pytest.raises(InvalidParameterError) as caught:
        make_client().call("core_user_create_users", users=[{"username": "joerg.mueller"}])
    assert caught.value.debuginfo == "Username already exists: joerg.mueller"
    assert "Username already exists" in str(caught.value)


@responses.activate
def test_function_outside_the_service_is_access_denied():
    responses.post(ENDPOINT, json={"exception": "webservice_access_exception", "errorcode": "accessexception",
                                   "message": "Access control exception"})
    with pytest.raises(AccessDeniedError):
        make_client().call("core_course_delete_courses", courseids=[2])


@responses.activate
def test_xml_answer_is_a_protocol_error(recording):
    record = recording("07_protocol_edge_cases.json", "core_course_get_courses_by_field", "error -> XML")
    responses.post(ENDPOINT, body=record["response"], content_type="application/xml; charset=utf-8")
    with pytest.raises(MoodleProtocolError, match="XML"):
        make_client().call("core_course_get_courses_by_field", field="id", value="x")


@responses.activate
def test_http_error_status_is_an_http_error_and_not_retried():
    responses.post(ENDPOINT, body="<html>Server error</html>", status=500)
    client = make_client()
    with pytest.raises(MoodleHTTPError) as caught:
        client.call("core_course_get_contents", courseid=2)
    assert caught.value.status == 500
    assert len(responses.calls) == 1


# -- retries ----------------------------------------------------------------------------------------

@responses.activate
def test_503_is_retried_with_growing_backoff_then_succeeds():
    responses.post(ENDPOINT, status=503)
    responses.post(ENDPOINT, status=502)
    responses.post(ENDPOINT, json=[{"id": 2, "shortname": "X"}])
    client = make_client(backoff=1.0)
    assert client.call("core_course_create_courses", courses=[{"shortname": "X"}]) == [{"id": 2, "shortname": "X"}]
    assert len(responses.calls) == 3
    assert len(client.sleeps) == 2
    assert 0.5 <= client.sleeps[0] <= 1.5 and 1.0 <= client.sleeps[1] <= 3.0  # exponential with jitter
    assert client.stats.by_function["core_course_create_courses"].retries == 2


@responses.activate
def test_retries_give_up_after_the_configured_number():
    responses.post(ENDPOINT, status=504)
    client = make_client(retries=2)
    with pytest.raises(MoodleHTTPError):
        client.call("core_course_get_contents", courseid=2)
    assert len(responses.calls) == 3


@responses.activate
def test_moodle_exception_on_a_write_is_never_retried(recording):
    record = recording("01_categories_courses.json", "core_course_create_courses", "idnumber already exists")
    responses.post(ENDPOINT, body=record["response_raw"], content_type="application/json")
    client = make_client()
    with pytest.raises(MoodleRemoteError):
        client.call("core_course_create_courses", courses=[{"shortname": "X"}])
    assert len(responses.calls) == 1 and client.sleeps == []


@responses.activate
def test_connection_reset_is_retried_for_a_read():
    responses.post(ENDPOINT, body=requests.exceptions.ConnectionError("Connection reset by peer"))
    responses.post(ENDPOINT, json=[])
    assert make_client().call("core_course_get_contents", courseid=2) == []
    assert len(responses.calls) == 2


@responses.activate
def test_a_write_that_may_have_reached_moodle_is_not_retried():
    responses.post(ENDPOINT, body=requests.exceptions.ReadTimeout("read timed out"))
    client = make_client()
    with pytest.raises(MoodleConnectionError) as caught:
        client.call("core_user_create_users", users=[{"username": "a"}])
    assert caught.value.maybe_applied is True
    assert len(responses.calls) == 1


def test_refused_connection_is_retried_even_for_a_write_and_then_reported():
    # Port 9 on loopback: nothing listens, the request never leaves, so retrying a write is safe.
    sleeps: list[float] = []
    client = MoodleClient("http://127.0.0.1:9", TOKEN, retries=2, sleep=sleeps.append, timeout=(1, 1))
    with pytest.raises(MoodleConnectionError) as caught:
        client.call("core_user_create_users", users=[{"username": "a"}])
    assert caught.value.maybe_applied is False
    assert len(sleeps) == 2
    assert "connection refused" in str(caught.value)


# -- chunking ---------------------------------------------------------------------------------------

@responses.activate
def test_a_2500_user_batch_is_chunked_below_the_field_limit():
    def answer(request):
        fields = body_fields(request)
        usernames = [value for key, value in fields if key.endswith("[username]")]
        return 200, {}, __import__("json").dumps([{"id": i, "username": u} for i, u in enumerate(usernames)])

    responses.add_callback(responses.POST, ENDPOINT, callback=answer)
    users = [{"username": f"user{i:04d}", "firstname": "Änne", "lastname": "Straßburger",
              "email": f"user{i:04d}@example.org", "auth": "manual", "createpassword": True,
              "idnumber": f"mintqo:p:{i}", "lang": "de"} for i in range(2500)]
    client = make_client(max_form_fields=1000)
    created = Moodle(client).core.create_users(users)
    assert [u.username for u in created] == [u["username"] for u in users]
    sizes = [len(body_fields(call.request)) for call in responses.calls]
    assert all(size <= 1000 for size in sizes)
    assert len(sizes) == 21  # 8 fields a user, 124 users per request (997 budget)
    assert all(body_fields(c.request)[0] == ("wstoken", TOKEN) for c in responses.calls)


@responses.activate
def test_a_create_that_returns_fewer_records_than_sent_is_an_error():
    responses.post(ENDPOINT, json=[{"id": 3, "username": "a"}])
    with pytest.raises(IncompleteBatchError, match="sent 2 items, Moodle returned 1"):
        Moodle(make_client()).core.create_users([{"username": "a"}, {"username": "b"}])


def test_a_single_call_over_the_limit_is_refused_before_sending():
    with pytest.raises(RequestTooLargeError):
        make_client(max_form_fields=100).call("core_user_get_users_by_field", field="id", values=list(range(200)))


# -- transport security and the token ---------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://moodle.example.org", "http://10.1.2.3/moodle", "ftp://x", "moodle.example.org"])
def test_plain_http_or_junk_urls_are_refused(url):
    with pytest.raises(InsecureURLError):
        check_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://localhost/moodle", "http://[::1]:80",
                                 "https://moodle.example.org/"])
def test_loopback_http_and_https_are_accepted(url):
    assert check_url(url) == url.rstrip("/")


def test_plain_http_off_loopback_only_with_explicit_opt_in():
    assert check_url("http://moodle.intern", allow_insecure_http=True) == "http://moodle.intern"


@responses.activate
def test_token_never_leaks_into_logs_errors_or_reprs(caplog, recording):
    caplog.set_level(logging.DEBUG)
    responses.post(ENDPOINT, status=503)
    responses.post(ENDPOINT, body=recording("07_protocol_edge_cases.json", "core_webservice_get_site_info",
                                            "wrong token")["response_raw"])
    responses.post(ENDPOINT, body=requests.exceptions.ConnectionError(f"boom {TOKEN}"))
    client = make_client(retries=1)
    texts = [repr(client)]
    for _ in range(2):
        try:
            client.call("core_webservice_get_site_info")
        except Exception as exc:  # noqa: BLE001 - we inspect every error text
            texts.append(str(exc))
            texts.append(repr(exc))
    logging.getLogger("mintqo_lms.test").warning("leak %s", TOKEN)
    texts.extend(record.getMessage() for record in caplog.records)
    assert len(texts) >= 5
    assert all(TOKEN not in text for text in texts)


@responses.activate
def test_php_error_without_errorcode_still_raises():
    responses.post(ENDPOINT, json={"exception": "Error", "message": 'Class "grade_item" not found'})
    with pytest.raises(MoodleRemoteError) as caught:
        make_client().call("local_mintqo_import_quiz", courseid=2)
    assert caught.value.errorcode == "Error"
    assert "grade_item" in str(caught.value)


RECORDING_DIRS = {"4.4": RECORDINGS, "5.0": RECORDINGS / "5.0", "5.1": RECORDINGS / "5.1"}


def _recorded_errors(release: str) -> dict[tuple[str, int], dict]:
    """Every JSON error answer of a release's recordings, keyed by (file, index) so releases line up."""
    found = {}
    for path in sorted(RECORDING_DIRS[release].glob("0*.json")):
        records = json.loads(path.read_text(encoding="utf-8"))
        for index, record in enumerate(records if isinstance(records, list) else []):
            answer = record.get("response") if isinstance(record, dict) else None
            if isinstance(answer, dict) and "exception" in answer:
                found[(path.name, index)] = answer
    return found


@pytest.mark.parametrize("release", ["5.0", "5.1"])
def test_every_recorded_error_maps_to_the_same_typed_error_on_each_release(release):
    """5.x renamed codes (invalidrecord → invalidrecordunknown, invaliduser) and namespaced the classes
    (core\\exception\\moodle_exception); the typed error a caller catches must not change with the release."""
    base, other = _recorded_errors("4.4"), _recorded_errors(release)
    common = sorted(set(base) & set(other))
    assert len(common) > 30
    renamed_user_errors = {("03_enrolments_groups.json", 1), ("08_errors_debug_developer.json", 9),
                           ("03_enrolments_groups.json", 20), ("08_errors_debug_developer.json", 11)}
    mismatches = []
    for key in common:
        ours = type(error_from_answer("f", base[key]))
        theirs = type(error_from_answer("f", other[key]))
        if key in renamed_user_errors:
            # 4.4 said codingerror / invalidparameter for a user that does not exist; 5.x says what it is.
            assert theirs is MissingRecordError, key
        elif ours is not theirs:
            mismatches.append(f"{key}: {ours.__name__} vs {theirs.__name__} ({other[key]['errorcode']})")
    assert not mismatches


def test_namespaced_exception_classes_are_read_by_their_own_name():
    answer = {"exception": "core\\exception\\invalid_parameter_exception", "errorcode": "invalidparameter",
              "message": "Invalid parameter value detected"}
    assert isinstance(error_from_answer("core_course_create_courses", answer), InvalidParameterError)
    missing = {"exception": "dml_missing_record_exception", "errorcode": "invalidrecordunknown",
               "message": "Can't find data record in database."}
    assert isinstance(error_from_answer("core_course_get_contents", missing), MissingRecordError)
    denied = {"exception": "core\\exception\\required_capability_exception", "errorcode": "nopermissions",
              "message": "Sorry, but you do not currently have permissions to do that (Create courses)."}
    assert isinstance(error_from_answer("core_course_create_courses", denied), AccessDeniedError)


# -- call_model: the answer validated straight from its bytes -------------------------------------------------

class _Answer(MoodleModel):
    total: int = 0
    names: list[str] = []


@responses.activate
def test_call_model_validates_the_answer_straight_from_its_text():
    responses.post(ENDPOINT, json={"total": 2, "names": ["Jörg", "Ayşe"], "extra": 1})
    answer = make_client().call_model("local_mintqo_get_course_state", _Answer, limitfrom=0)
    assert answer == _Answer(total=2, names=["Jörg", "Ayşe"])


@responses.activate
def test_call_model_raises_moodles_exception_instead_of_an_empty_model():
    # every field has a default: validated as a model, the error answer would pass as "nothing there"
    responses.post(ENDPOINT, json={"exception": "webservice_access_exception", "errorcode": "accessexception",
                                   "message": "Access control exception"})
    client = make_client()
    with pytest.raises(AccessDeniedError):
        client.call_model("local_mintqo_get_course_state", _Answer)
    assert client.stats.by_function["local_mintqo_get_course_state"].errors == 1


@pytest.mark.parametrize("body", ['{"total": "zwei", "names": 5}', "[1, 2]", "", "null"])
@responses.activate
def test_call_model_shape_errors_are_those_of_the_decoded_answer(body):
    responses.post(ENDPOINT, body=body, content_type="application/json")
    with pytest.raises(ValidationError) as caught:
        make_client().call_model("local_mintqo_get_course_state", _Answer)
    with pytest.raises(ValidationError) as expected:
        _Answer.model_validate(json.loads(body) if body else None)
    assert caught.value.errors() == expected.value.errors()


@responses.activate
def test_call_model_of_cut_off_json_is_a_protocol_error():
    responses.post(ENDPOINT, body='{"total": 2, "names": ["Jö', content_type="application/json")
    with pytest.raises(MoodleProtocolError, match="cut off"):
        make_client().call_model("local_mintqo_get_course_state", _Answer)
