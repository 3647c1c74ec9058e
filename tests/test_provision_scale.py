"""Provisioning calls at the programme's size and at 16 times the demo cohort: an unchanged run reads the whole
cohort with local_mintqo_get_course_state (at most 5 calls, no write); a changed run writes only what changed."""

from __future__ import annotations

from collections import Counter

import pytest

import mintqo_lms.provision as provision_module
from mintqo_lms.config import Config
from mintqo_lms.moodle.errors import MintqoError, MoodleError
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import ProvisionError, cohort_course_idnumber, provision
from mintqo_lms.samples import write_synthetic_roster
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store

from test_provision import EXAMPLE_ROSTER, WRITE_FUNCTIONS, site, snapshot, writes

# The demo cohort (lms_templates/roster.example.csv): 3 networks, 5 initiatives of 3, 1 buddy, 1 staff member.
DEMO = {"coordinators": 3, "initiatives": 5, "members_per_initiative": 3, "buddies": 1, "staff": 1}
# The programme office's yearly cohort (benchmarks' 1x): 20 networks, 150 initiatives, 477 people.
PROGRAMME = {"coordinators": 20, "initiatives": 150, "members_per_initiative": 3, "buddies": 5, "staff": 2}
UNCHANGED_BUDGET = 5


def times(sizes: dict[str, int], n: int) -> dict[str, int]:
    return {k: (v if k == "members_per_initiative" else v * n) for k, v in sizes.items()}


@pytest.fixture(scope="module")
def demo16(tmp_path_factory):
    """A cohort of 16 times the demo (48 regional courses + the cohort course, 320 people), provisioned once."""
    tmp = tmp_path_factory.mktemp("demo16")
    roster = write_synthetic_roster(tmp / "roster.csv", **times(DEMO, 16))
    with Sandbox() as sb, Store(tmp / "s.db") as store:
        import_roster(store, roster, "2025")
        first = provision(site(sb), store, Config(), "2025")
        yield sb, store, first


def calls_since(sb: Sandbox, mark: int) -> Counter:
    return Counter(list(sb.calls)[mark:])


def test_sixteen_times_the_demo_unchanged_costs_at_most_five_calls_and_no_write(demo16, monkeypatch):
    sb, store, first = demo16
    assert first.applied["course created"] == 49 and first.applied["user created"] == 320
    # Content travels batched across courses (at most 8 courses and 8 quizzes a call): 96 quizzes need 12 calls.
    content_calls = Counter(sb.calls)["local_mintqo_upsert_course_content"]
    assert 12 <= content_calls <= 49 // 2 and first.calls < 49
    mark = len(sb.calls)
    second = provision(site(sb), store, Config(), "2025")
    assert not second.plan.has_work
    assert second.calls <= UNCHANGED_BUDGET
    assert calls_since(sb, mark) == Counter({"local_mintqo_get_course_state": 1})
    assert writes(sb, mark) == Counter()

    # Pages of 20 courses: three state pages, still within the budget and still nothing to write.
    monkeypatch.setattr(provision_module, "STATE_PAGE_SIZE", 20)
    mark = len(sb.calls)
    paged = provision(site(sb), store, Config(), "2025")
    assert not paged.plan.has_work and paged.calls == 3
    assert calls_since(sb, mark) == Counter({"local_mintqo_get_course_state": 3})


def test_the_programme_unchanged_costs_one_call(sandbox, store, tmp_path):
    roster = write_synthetic_roster(tmp_path / "roster.csv", **PROGRAMME)
    import_roster(store, roster, "2025")
    provision(site(sandbox), store, Config(), "2025")
    mark = len(sandbox.calls)
    second = provision(site(sandbox), store, Config(), "2025")
    assert not second.plan.has_work and second.calls == 1
    assert writes(sandbox, mark) == Counter()


def test_a_changed_cohort_writes_only_what_changed(tmp_path):
    roster = write_synthetic_roster(tmp_path / "roster.csv", **times(DEMO, 4))
    with Sandbox() as sb, Store(tmp_path / "s.db") as store:
        import_roster(store, roster, "2025")
        provision(site(sb), store, Config(), "2025")
        admin = site(sb, admin=True)
        courses = sorted(store.db["courses"].rows_where("cohort = ?", ["2025"]), key=lambda r: r["moodle_id"])
        renamed, emptied = courses[5], courses[7]
        # By hand in Moodle: a course renamed, an activity deleted in another course.
        admin.core.update_courses([{"id": renamed["moodle_id"], "fullname": "Umbenannt & verschoben"}])
        page = next(cm for cm in sb.site.tables["course_modules"].values()
                    if cm["course"] == emptied["moodle_id"] and cm["modname"] == "page")
        sb.site.delete("course_modules", page["id"])
        # In the roster: one more person in an existing initiative.
        lines = roster.read_text(encoding="utf-8-sig").splitlines()
        member = next(line for line in lines if line.startswith("Initiative;"))
        fields = member.split(";")
        fields[1], fields[3] = "Neu", "neu.mitglied@example.org"
        grown = tmp_path / "grown.csv"
        grown.write_text("\n".join([*lines, ";".join(fields)]) + "\n", encoding="utf-8")
        import_roster(store, grown, "2025")
        before = snapshot(sb, store)

        mark = len(sb.calls)
        result = provision(site(sb), store, Config(), "2025")
        changed = writes(sb, mark)
        assert changed["core_course_update_courses"] == 1
        assert changed["core_user_create_users"] == changed["enrol_manual_enrol_users"] == 1
        assert changed["core_group_add_group_members"] == 1
        assert result.applied == Counter({"course updated": 1, "user created": 1, "enrolment created": 1,
                                          "membership created": 1, "content updated": 1})
        # Only the course that lost an activity gets its content again (settings, sections, activities, quizzes).
        assert changed["local_mintqo_configure_courses"] == 1
        assert changed["local_mintqo_upsert_course_content"] == 1
        assert set(changed) <= WRITE_FUNCTIONS
        assert result.content_items["activities created"] == 1
        after = snapshot(sb, store)
        assert after["users"] == before["users"] + 1 and after["memberships"] == before["memberships"] + 1
        assert admin.core.get_courses_by_field("id", renamed["moodle_id"])[0].fullname == renamed["fullname"]

        mark = len(sb.calls)
        again = provision(site(sb), store, Config(), "2025")
        assert not again.plan.has_work and again.calls == 1 and writes(sb, mark) == Counter()


def test_a_course_moved_out_of_the_category_is_still_found_with_one_more_read(sandbox, store):
    import_roster(store, EXAMPLE_ROSTER, "2025")
    provision(site(sandbox), store, Config(), "2025")
    moved = store.db["courses"].get(cohort_course_idnumber("2025"))["moodle_id"]
    site(sandbox, admin=True).core.update_courses([{"id": moved, "categoryid": 1}])
    mark = len(sandbox.calls)
    again = provision(site(sandbox), store, Config(), "2025")
    assert not again.plan.has_work and again.calls == 2
    assert calls_since(sandbox, mark) == Counter({"local_mintqo_get_course_state": 2})
    assert writes(sandbox, mark) == Counter()


@pytest.mark.parametrize(("function", "release"), [("local_mintqo_get_course_state", "1.3.0"),
                                                    ("local_mintqo_upsert_course_content", "1.4.0")])
def test_a_plugin_without_a_needed_function_is_named_and_no_content_is_marked_done(store, function, release):
    with Sandbox() as sb:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        sb.faults.add(function, nth=1, kind="exception", errorcode="accessexception",
                      exception="webservice_access_exception", message="Access control exception")
        with pytest.raises(ProvisionError, match=f"older than {release}"):
            provision(site(sb), store, Config(), "2025")
        assert Counter(sb.calls)[function] == 1
        assert not any(row["content_hash"] for row in store.db["courses"].rows)
        if function == "local_mintqo_get_course_state":
            assert list(sb.calls) == [function]


def test_answers_are_stored_a_few_calls_at_a_time_and_a_failing_call_keeps_those_before_it():
    stored: list[list[str]] = []

    def calls():
        yield ["a"]
        yield ["b"]
        yield []               # a call that completed no course (a big course's first part)
        yield ["c"]
        yield ["d", "e"]
        raise MoodleError("local_mintqo_upsert_course_content", "kaputt")

    with pytest.raises(MoodleError):
        provision_module.store_answered(calls(), stored.append, calls_per_commit=2)
    assert stored == [["a", "b"], ["c"], ["d", "e"]]


def test_content_answered_before_a_failing_call_is_kept_and_not_sent_again(tmp_path):
    roster = write_synthetic_roster(tmp_path / "roster.csv", **PROGRAMME)
    with Sandbox() as sb, Store(tmp_path / "s.db") as store:
        import_roster(store, roster, "2025")
        moodle = site(sb)
        sent = moodle.client.call_prepared
        content_calls = []

        def failing(function, form):
            if function == "local_mintqo_upsert_course_content":
                content_calls.append(function)
                if len(content_calls) == provision_module.CALLS_PER_COMMIT + 2:
                    raise MoodleError(function, "kaputt")
            return sent(function, form)

        moodle.client.call_prepared = failing
        with pytest.raises(MoodleError):
            provision(moodle, store, Config(), "2025")
        kept = {row["idnumber"] for row in store.db["courses"].rows if row["content_hash"]}
        assert kept and len(kept) < 21   # the courses of the calls that answered, not the rest

        mark = len(sb.calls)
        again = provision(site(sb), store, Config(), "2025")
        resent = {c.key for c in again.plan.changes if c.kind == "content" and c.action != "unchanged"}
        assert resent and not resent & kept
        assert writes(sb, mark)["local_mintqo_upsert_course_content"] >= 1
        assert all(row["content_hash"] for row in store.db["courses"].rows)


def test_the_cycle_collector_is_off_while_provisioning_and_back_on_after_success_and_failure(tmp_path):
    import gc

    seen = []
    with Sandbox() as sb, Store(tmp_path / "s.db") as store:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        moodle = site(sb)
        read = moodle.plugin.get_course_state

        def state(*args, **kwargs):
            seen.append(gc.isenabled())
            return read(*args, **kwargs)

        moodle.plugin.get_course_state = state
        assert gc.isenabled()
        provision(moodle, store, Config(), "2025")
        assert seen == [False] and gc.isenabled()
        with pytest.raises(MintqoError):
            provision(moodle, store, Config(), "2031")   # no such cohort
        assert gc.isenabled()
        gc.disable()
        try:
            provision(moodle, store, Config(), "2025")
            assert not gc.isenabled()   # a caller's choice is left alone
        finally:
            gc.enable()
