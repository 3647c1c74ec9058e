"""Names as real rosters have them, Moodle's own modules, and counts in one vocabulary — on every release
the sandbox acts as (issue 8: text rules; issue 16: 4.4, 5.0, 5.1; issue 15: honest counts)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from mintqo_lms.config import Config
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.moodle.client import is_read_function
from mintqo_lms.moodle.models import Course, CourseGroup, Group
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import KIND_LABELS, provision
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.sync import sync_cohort

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE_ROSTER = PROJECT / "lms_templates" / "roster.example.csv"
RELEASES = ["4.4", "5.0", "5.1"]
MESSY = ["Ruhr & Emscher", 'Schülerlabor "Elektron"', "D'Angelo", "Öztürk"]


def site(sb: Sandbox, *, admin: bool = False) -> Moodle:
    return Moodle(MoodleClient(sb.url, sb.admin_token if admin else sb.token, retries=0, backoff=0.0))


def writes(sb: Sandbox, since: int) -> Counter:
    return Counter(name for name in list(sb.calls)[since:] if not is_read_function(name))


def test_models_read_formatted_names_as_text(recording):
    """What 09_text_rules.json recorded: course and course-group names arrive as HTML, create_groups' echo raw."""
    course = recording("09_text_rules.json", "core_course_get_courses_by_field")["response"]["courses"][0]
    assert Course.model_validate(course).fullname == 'Kinder & Technik "Elektron" – D\'Angelo'
    assert Course.model_validate(course).shortname == "txt2-amp & 'q'"
    listed = recording("09_text_rules.json", "core_group_get_course_groups")["response"][0]
    assert CourseGroup.model_validate(listed).name == 'Schülerlabor "Elektron" & Co'
    echoed = recording("09_text_rules.json", "core_group_create_groups", "quotes and ampersand")["response"][0]
    assert Group.model_validate(echoed).name == 'Schülerlabor "Elektron" & Co'   # not unescaped twice


@pytest.mark.parametrize("release", RELEASES)
def test_messy_names_read_back_exactly_and_a_second_run_writes_nothing(store, release):
    with Sandbox(release=release) as sb:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        first = provision(site(sb), store, Config(), "2025")
        plan = first.plan
        truth = site(sb, admin=True).core
        courses = truth.get_courses_by_idnumbers([c.idnumber for c in plan.courses])
        assert {c.idnumber: (c.fullname, c.shortname) for c in plan.courses} == \
            {i: (c.fullname, c.shortname) for i, c in courses.items()}
        groups = {g.idnumber: g.name for c in courses.values() for g in truth.get_course_groups(c.id)}
        assert groups == {g.idnumber: g.name for g in plan.groups}
        people = list(store.db["people"].rows)
        users = {u.idnumber: (u.firstname, u.lastname)
                 for u in truth.get_users_by_field("idnumber", [p["idnumber"] for p in people])}
        assert users == {p["idnumber"]: (p["first_name"], p["last_name"]) for p in people}
        seen = " ".join([*groups.values(), *(c.fullname for c in courses.values()),
                         *(name for pair in users.values() for name in pair)])
        assert all(name in seen for name in MESSY)

        mark = len(sb.calls)
        second = provision(site(sb), store, Config(), "2025")
        assert not second.plan.has_work, [c for c in second.plan.changes if c.action != "unchanged"]
        assert writes(sb, mark) == Counter()


@pytest.mark.parametrize("release", RELEASES)
def test_moodles_own_modules_are_left_to_moodle(store, release):
    """Section 0 holds the news forum (and from 5.0 on the question bank): never planned, never synced."""
    with Sandbox(release=release) as sb:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        result = provision(site(sb), store, Config(), "2025")
        truth = site(sb, admin=True).core
        regional = next(c for c in result.plan.courses if c.network_slug)
        section0 = [m.modname for s in truth.get_contents(regional.moodle_id) if s.section == 0 for m in s.modules]
        assert section0.count("label") == 1   # ours: the welcome text (course summary) on the course page
        own = set(section0) - {"label"}
        assert own == ({"forum", "qbank"} if release != "4.4" else {"forum"})
        planned = " ".join(c.key + c.detail for c in result.plan.changes)
        assert "qbank" not in planned and "forum" not in planned
        stored = {row["modname"] for row in store.db["activities"].rows}
        assert not stored & {"forum", "qbank"}
        sync_cohort(site(sb), store, "2025")
        synced = {row["activity_idnumber"] for row in store.db["activity_completion"].rows}
        assert all(i and i.startswith("mintqo:") for i in synced)


def test_a_changed_summary_or_short_name_in_the_template_is_pushed_and_then_left_alone(store, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(PROJECT / "lms_templates", templates)
    config = Config()
    config.programme.templates_dir = templates
    with Sandbox(release="5.1") as sb:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        provision(site(sb), store, config, "2025")
        path = templates / "curriculum" / "regional_cycle.yaml"
        text = path.read_text(encoding="utf-8")
        assert "Willkommen im Workshop-Zyklus" in text
        path.write_text(text.replace("Willkommen im Workshop-Zyklus", "Herzlich willkommen im Workshop-Zyklus"),
                        encoding="utf-8")
        changed = provision(site(sb), store, config, "2025")
        networks = len([c for c in changed.plan.courses if c.network_slug])
        assert changed.plan.counts()["course"]["update"] == networks
        assert changed.applied["course updated"] == networks
        truth = site(sb, admin=True).core
        regional = next(c for c in changed.plan.courses if c.network_slug)
        [course] = truth.get_courses_by_field("id", regional.moodle_id)
        assert "Herzlich willkommen" in course.summary
        again = provision(site(sb), store, config, "2025")
        assert again.plan.counts()["course"]["update"] == 0


def test_plan_and_apply_count_the_same_things_in_the_same_words(store):
    with Sandbox() as sb:
        import_roster(store, EXAMPLE_ROSTER, "2025")
        result = provision(site(sb), store, Config(), "2025")
    counts, table, summary = result.plan.counts(), result.plan.table(), result.summary()
    for kind, label in KIND_LABELS.items():
        planned = counts.get(kind, Counter())["create"]
        assert result.applied[f"{kind} created"] == planned, kind
        assert label in table
        if planned:
            assert f"{planned} {label} created" in summary
    assert "course contents created" in summary and "sections" in summary
