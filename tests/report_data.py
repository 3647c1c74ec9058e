"""Store rows as sync writes them, for the progress and report tests (not a test module).

Why write rows directly: progress and the dashboard only read the store; these helpers put exactly the state a test
needs there (a completion, an attendance record, a scored analysis) without simulating Moodle for each case.
"""

from __future__ import annotations

from mintqo_lms.store import Store

COHORT = "2025"
TRIER = "j.weissmueller@mint-trier.example"
RUHR = "oezlem.kaya@mint-netz-ruhr.example"
ERZGEBIRGE = "hannah.gross@mint-erzgebirge.example"
QUALIFICATION = "mintqo:cohort:2025"
CERTIFICATE_MODULES = ["kickoff-reflexion", "wirkungslogik-aufgabe", "wirkungsmessung-aufgabe", "storytelling-aufgabe",
                       "transfer-plan", "zyklus-dokumentation"]
CERTIFICATE_WORKSHOPS = ["kickoff-teilnahme", "transfer-teilnahme"]
DIMENSIONS = ["ang", "res", "erg", "gen"]


def person(store: Store, email: str) -> dict:
    return next(store.db["people"].rows_where("email = ?", [email]))


def staff_userid(store: Store) -> int:
    return next(store.db.query("SELECT p.moodle_user_id FROM people p JOIN memberships m ON m.person_id = p.id "
                               "WHERE m.role = 'staff'"))["moodle_user_id"]


def activity(store: Store, course: str, key: str) -> dict:
    return next(store.db["activities"].rows_where("course_idnumber = ? AND idnumber LIKE ?", [course, f"%:{key}"]))


def complete(store: Store, email: str, key: str, *, course: str = QUALIFICATION, state: int = 1,
             overrideby: int | None = None) -> None:
    """An activity completion as sync stores it (``overrideby``: someone else marked it)."""
    act = activity(store, course, key)
    moodle_course = next(store.db["courses"].rows_where("idnumber = ?", [course]))["moodle_id"]
    store.db["activity_completion"].upsert({
        "cmid": act["cmid"], "userid": person(store, email)["moodle_user_id"], "courseid": moodle_course,
        "activity_idnumber": act["idnumber"], "state": state, "timemodified": 1_760_000_000,
        "overrideby": overrideby}, pk=("cmid", "userid"))


def attend(store: Store, email: str, key: str, *, course: str = QUALIFICATION, present: int = 1,
           source: str = "staff") -> None:
    """An attendance record (``attendance import`` by staff, or a participant's own tick)."""
    act = activity(store, course, key)
    store.db["attendance"].upsert({
        "cohort": COHORT, "course_idnumber": course, "activity_key": key, "cmid": act["cmid"],
        "person_id": person(store, email)["id"], "present": present, "source": source,
        "recorded_by": "office@example.org" if source == "staff" else None, "recorded_at": 1_760_000_000},
        pk=("cohort", "course_idnumber", "activity_key", "person_id"))


def complete_everything(store: Store, email: str) -> None:
    staff = staff_userid(store)
    for key in CERTIFICATE_MODULES:
        complete(store, email, key)
    for key in CERTIFICATE_WORKSHOPS:
        complete(store, email, key, overrideby=staff)


def regional_course(store: Store, network: str) -> str:
    return next(store.db["courses"].rows_where("kind = 'regional' AND network_slug = ?", [network]))["idnumber"]


def initiatives(store: Store) -> list[tuple[str, str]]:
    return [(r["network_slug"], r["slug"]) for r in store.db["initiatives"].rows_where(
        "cohort = ? ORDER BY network_slug, slug", [COHORT])]


def members(store: Store, network: str, initiative: str) -> list[str]:
    return [r["email"] for r in store.db.query(
        "SELECT p.email FROM memberships m JOIN people p ON p.id = m.person_id WHERE m.cohort = ? AND "
        "m.role = 'initiative' AND m.network_slug = ? AND m.initiative_slug = ? ORDER BY p.id",
        [COHORT, network, initiative])]


def analyse(store: Store, network: str, initiative: str, attemptid: int, dimensions: dict[str, float | None], *,
            kind: str = "first", potentials: list[str] = ()) -> None:
    """A scored current analysis of one initiative (as ``sync`` stores it)."""
    quiz = "selbstanalyse-1" if kind == "first" else "selbstanalyse-2"
    store.db["analyses"].insert({
        "cohort": COHORT, "network_slug": network, "initiative_slug": initiative, "quiz": quiz,
        "attemptid": attemptid, "kind": kind, "instrument": "v1", "cmid": activity(
            store, regional_course(store, network), quiz)["cmid"], "userid": 0, "person_id": None,
        "timefinish": 1_760_000_000 + attemptid, "offer": None, "current": 1, "answered": 33, "statements": 33,
        "computed_at": 1_760_000_000})
    for key, score in dimensions.items():
        store.db["analysis_scores"].insert({
            "attemptid": attemptid, "level": "dimension", "key": key, "score": score, "answered": 9, "total": 9,
            "meaningful": int(score is not None), "potential_rank": None})
    for rank, key in enumerate(potentials, start=1):
        store.db["analysis_scores"].insert({
            "attemptid": attemptid, "level": "statement", "key": key, "score": 0.0, "answered": 1, "total": 1,
            "meaningful": 1, "potential_rank": rank})


def change(store: Store, network: str, initiative: str, dimensions: dict[str, float]) -> None:
    for key, value in dimensions.items():
        store.db["analysis_changes"].insert({
            "cohort": COHORT, "network_slug": network, "initiative_slug": initiative, "level": "dimension",
            "key": key, "first_attemptid": 0, "latest_attemptid": 0, "change": value, "compared": 9})
