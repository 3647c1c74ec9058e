"""The fault matrix beyond sync: provisioning, publishing a new self-analysis version and feedback messages.

Each fault kind (connection reset, read timeout, HTTP 503, Moodle exception, and the answer lost after Moodle
applied the write) at each call index in turn, and a real process SIGKILLed at each commit boundary of a
provisioning run; then a clean re-run: Moodle's state (the sandbox's) and the store equal a fault-free run, and
no message exists twice. A small roster (one network, one initiative of two) keeps every index affordable.
The cases run are counted and printed at the end of the session (tests/conftest.py)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from faultkit import (ALL_FAULTS, Snapshot, assert_same_store, count_transactions, fault_client, inject,
                      record_calls, run_killed, store_rows)
from mintqo_lms.config import Config
from mintqo_lms.feedback import send_feedback
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import provision
from mintqo_lms.publish import publish
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store

PROJECT = Path(__file__).resolve().parents[1]
CASES: Counter = Counter()   # read by tests/conftest.py's terminal summary
_VOLATILE = ("time", "timecreated", "timemodified", "timestart", "timeend", "timeadded", "timeenrolled",
             "lastaccess", "timecompleted", "timeupdated", "cacherev", "added")


def small_roster(folder: Path) -> Path:
    lines = (PROJECT / "lms_templates" / "roster.example.csv").read_text(encoding="utf-8").splitlines()
    keep = [lines[0]] + [line for line in lines[1:] if "mint-trier.example" in line or "forscherwerkstatt" in line]
    path = folder / "roster.csv"
    path.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return path


def moodle_state(sb: Sandbox) -> dict:
    """The sandbox's tables without wall-clock fields (a re-run happens later than the fault-free run)."""
    with sb.site.lock:
        dump = json.loads(json.dumps(sb.site.dump()["tables"], default=str))
    out = {}
    for table, rows in dump.items():
        if table == "logstore":
            continue
        out[table] = sorted((json.dumps({k: v for k, v in row.items() if "time" not in k and k not in _VOLATILE
                                         and not (isinstance(v, int) and 1_500_000_000 < v < 2_200_000_000)},
                                        sort_keys=True) for row in rows))
    return {t: rows for t, rows in out.items() if rows}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults_all")
    with Sandbox() as sb:
        store_path = folder / "work.db"
        with Store(store_path) as store:
            import_roster(store, small_roster(folder), "2025")
        empty = Snapshot.take(sb, store_path, folder, "empty")
        yield sb, store_path, empty, folder


def calm_client(sb: Sandbox):
    """For the fault-free and the clean re-runs: no injected fault, and a read timeout a busy machine cannot hit
    (the fault client's short one is only for the run that gets the fault)."""
    from mintqo_lms.moodle import Moodle, MoodleClient

    return Moodle(MoodleClient(sb.url, sb.token, retries=0, timeout=(5.0, 60.0)))


def run_provision(sb: Sandbox, path: Path, moodle=None) -> None:
    with Store(path) as store:
        provision(moodle or calm_client(sb), store, Config(), "2025")


def kinds_at(function: str, index: int, every_kind_on_reads: bool) -> tuple[str, ...]:
    """Every fault kind at a write; at a read (nothing applied yet, whatever the kind) one kind in turn unless
    ``every_kind_on_reads`` — the provisioning matrix would otherwise take a minute."""
    from mintqo_lms.moodle.client import is_read_function

    if every_kind_on_reads or not is_read_function(function):
        return ALL_FAULTS
    return (ALL_FAULTS[index % len(ALL_FAULTS)],)


def faulty_then_clean(sb: Sandbox, calls: list[str], index: int, kind: str, restore, action, label: str) -> str:
    """Restore, run ``action`` with fault ``kind`` at call ``index`` (a MintqoError is allowed), then once more
    without faults; counts the case under ``label`` and returns its name."""
    restore()
    case = inject(sb, calls, index, kind)
    try:
        action(fault_client(sb))
    except MintqoError:
        pass
    sb.faults.clear()
    action(calm_client(sb))
    CASES[label] += 1
    return case


def fault_matrix(sb: Sandbox, snap: Snapshot, action, label: str, every_kind_on_reads: bool = True) -> None:
    """Every call index × every fault kind: the faulty run, a clean re-run, then store and Moodle as fault-free."""
    snap.restore()
    calls = record_calls(sb, lambda: action(calm_client(sb)))
    expected_store, expected_moodle = store_rows(snap.store_path), moodle_state(sb)
    assert calls, label
    failures = []
    for index in range(len(calls)):
        for kind in kinds_at(calls[index], index, every_kind_on_reads):
            case = faulty_then_clean(sb, calls, index, kind, snap.restore, action, label)
            try:
                assert_same_store(expected_store, snap.store_path, f"{label} {case}")
                assert moodle_state(sb) == expected_moodle, f"{label} {case}: Moodle differs from a fault-free run"
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures[:10])


def test_provisioning_at_every_call_and_fault(bench):
    sb, path, empty, folder = bench
    fault_matrix(sb, empty, lambda moodle: run_provision(sb, path, moodle), "provision", every_kind_on_reads=False)


def test_publishing_a_new_instrument_at_every_call_and_fault(bench):
    sb, path, empty, folder = bench
    empty.restore()
    run_provision(sb, path)
    provisioned = Snapshot.take(sb, path, folder, "provisioned")

    def action(moodle) -> None:
        with Store(path) as store:
            publish(moodle, store, Config(), "2025", "selfanalysis/v2")

    fault_matrix(sb, provisioned, action, "selfanalysis publish")


def analysed(path: Path) -> None:
    """The rows sync writes for the team's analysis (mintqo_lms.profile's contract)."""
    from mintqo_lms.templates import load_instrument

    with Store(path) as store, store.transaction():
        course = next(store.db["courses"].rows_where("kind = 'regional'"))["idnumber"]
        cmid = next(store.db["activities"].rows_where(
            "course_idnumber = ? AND idnumber = 'mintqo:regional_cycle:selbstanalyse-1'", [course]))["cmid"]
        person = next(store.db.query("SELECT * FROM people WHERE email LIKE 'lea.%'"))
        store.db["analyses"].insert({
            "cohort": "2025", "network_slug": "mint-region-trier", "initiative_slug": "forscherwerkstatt-saarburg",
            "quiz": "selbstanalyse-1", "attemptid": 501, "kind": "first", "instrument": "v1", "cmid": cmid,
            "userid": person["moodle_user_id"], "person_id": person["id"], "timefinish": 1760000000,
            "offer": "Forscher-AG", "current": 1, "answered": 33, "statements": 33, "computed_at": 1760000000})
        for dimension in load_instrument("selfanalysis/v1").dimensions:
            total = len(dimension.statements())
            store.db["analysis_scores"].insert({"attemptid": 501, "level": "dimension", "key": dimension.key,
                                                "score": 50.0, "answered": total, "total": total, "meaningful": 1})


def without_retry_marks(state: dict) -> dict:
    """A refused message is sent again by the next run as attempt 2 (its client message id and attempt count say
    so) and gets the next message id. Those marks aside, the state must equal the fault-free run's."""
    out = {}
    for table, rows in state.items():
        if table in ("messages", "message_conversations", "message_conversation_members"):
            rows = sorted(json.dumps({k: v for k, v in json.loads(r).items() if k in ("useridto", "useridfrom",
                                                                                       "fullmessage", "text")},
                                     sort_keys=True) for r in rows)
        elif table == "feedback_messages":
            rows = sorted(tuple(pair for pair in row if pair[0] not in ("clientmsgid", "msgid", "attempts"))
                          for row in rows)
        out[table] = rows
    return out


def test_feedback_messages_at_every_call_and_fault_never_twice(bench):
    """A lost answer leaves the message 'unknown' (sending) and never sends it again on its own: Moodle holds it
    once, the store row says sending where the fault-free run says sent; everything else is equal."""
    sb, path, empty, folder = bench
    empty.restore()
    run_provision(sb, path)
    analysed(path)
    snap = Snapshot.take(sb, path, folder, "analysed")

    def action(moodle) -> None:
        with Store(path) as store:
            send_feedback(moodle, store, "2025")

    snap.restore()
    calls = record_calls(sb, lambda: action(calm_client(sb)))
    expected_store, expected_moodle = store_rows(path), moodle_state(sb)
    assert calls.count("core_message_send_instant_messages") == 2
    failures = []
    for index in range(len(calls)):
        for kind in ALL_FAULTS:
            snap.restore()
            case = inject(sb, calls, index, kind)
            action(fault_client(sb))
            sb.faults.clear()
            action(calm_client(sb))
            CASES["feedback messages"] += 1
            texts = Counter((m["useridto"], m["text"]) for m in sb.site.tables["messages"].values())
            if max(texts.values(), default=0) > 1:
                failures.append(f"{case}: a message exists twice")
            got = store_rows(path)
            if kind in ("lost", "timeout", "reset") and calls[index] == "core_message_send_instant_messages":
                # the answer may be lost after Moodle took it: unknown, never re-sent on its own
                statuses = Counter(dict(row)["status"] for row in got["feedback_messages"])
                if statuses != Counter({"sent": 1, "sending": 1}):
                    failures.append(f"{case}: expected one sent and one unknown message, got {dict(statuses)}")
                if len(texts) != (2 if kind == "lost" or kind == "timeout" else 1):
                    failures.append(f"{case}: {len(texts)} messages in Moodle")
                continue
            if without_retry_marks(moodle_state(sb)) != without_retry_marks(expected_moodle):
                failures.append(f"{case}: Moodle differs from a fault-free run")
            if without_retry_marks(got) != without_retry_marks(expected_store):
                failures.append(f"{case}: the store differs from a fault-free run")
    assert not failures, "\n".join(failures[:10])


def killed_child(kill_at: int, work) -> int:
    """Run ``work`` in a forked child process that receives SIGKILL inside its ``kill_at``-th store transaction
    (after the writes, before COMMIT) — a real process killed for real, without a new interpreter's start-up.
    Returns the signal that ended it (0 when it finished first)."""
    import os

    import faultkit

    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            faultkit._install_kill(kill_at)
            work()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


def test_provisioning_killed_at_every_commit_converges(bench, tmp_path):
    """A provisioning process is SIGKILLed inside each of its transactions in turn (after the writes, before
    COMMIT); a clean re-run then converges to the fault-free store and Moodle. The first and the last kill point
    also with the real command line (`mintqo-lms provision` in a new interpreter)."""
    import signal

    sb, path, empty, folder = bench
    empty.restore()
    with count_transactions() as counter:
        run_provision(sb, path)
    expected_store, expected_moodle = store_rows(path), moodle_state(sb)
    token = tmp_path / "token"
    token.write_text(sb.token, encoding="utf-8")
    token.chmod(0o600)
    config = tmp_path / "mintqo.toml"
    config.write_text(f'[moodle]\nurl = "{sb.url}"\ntoken_file = "{token}"\nretries = 0\n\n'
                      f'[store]\npath = "{path}"\n', encoding="utf-8")
    assert counter[0] >= 2
    failures = []
    points = [(k, "fork") for k in range(1, counter[0] + 1)] + [(1, "cli"), (counter[0], "cli")]
    for kill_at, how in points:
        empty.restore()
        if how == "cli":
            done = run_killed(kill_at, ["--config", str(config), "provision", "--cohort", "2025"], cwd=str(tmp_path))
            assert done.returncode == -signal.SIGKILL, done.stderr[-500:]
        else:
            assert killed_child(kill_at, lambda: run_provision(sb, path)) == signal.SIGKILL
        run_provision(sb, path)
        CASES["provision SIGKILL"] += 1
        try:
            assert_same_store(expected_store, path, f"killed in transaction {kill_at} ({how})")
            assert moodle_state(sb) == expected_moodle, f"killed in transaction {kill_at} ({how}): Moodle differs"
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures)


def certificate_state(sb: Sandbox, path: Path) -> dict:
    """What a certificate run leaves: the store's rows with the (random) code, PDF digest and paths masked, the
    codes, the plugin's published records, the PDFs on disk and the messages in Moodle."""
    from mintqo_lms.sandbox.plugin_certificates import TABLE

    rows = store_rows(path)
    masked = {}
    for table in ("certificates", "certificate_messages"):
        masked[table] = sorted(tuple((k, "*" if k in ("code", "pdf_sha256", "pdf_path", "clientmsgid", "msgid",
                                                      "message_id", "attempts", "id") else v) for k, v in row)
                               for row in rows.get(table, []))
    codes = sorted(dict(row)["code"] for row in rows.get("certificates", []))
    with sb.site.lock:
        published = sorted(r["code"] for r in sb.site.tables[TABLE].values())
        sent = Counter((m["useridto"], m["text"]) for m in sb.site.tables["messages"].values())
    pdfs = sorted(p.name for p in (path.parent / "certificates").iterdir())  # a leftover temporary file counts too
    state = {"rows": masked, "codes": codes, "published": published, "messages": sent, "pdfs": pdfs}
    # a code is drawn at random: the same structure under a different code is the same outcome
    text = repr(state)
    for number, code in enumerate(codes):
        text = text.replace(code, f"<code {number}>")
    return {**state, "shape": text}


def make_eligible(path) -> None:
    """Complete every module and workshop a certificate asks for, for the one coordinator of the bench."""
    from report_data import CERTIFICATE_MODULES, CERTIFICATE_WORKSHOPS, complete

    with Store(path) as store, store.transaction():
        for key in CERTIFICATE_MODULES:
            complete(store, "j.weissmueller@mint-trier.example", key)
        for key in CERTIFICATE_WORKSHOPS:
            complete(store, "j.weissmueller@mint-trier.example", key, overrideby=2)


def issue_all(sb, path, moodle) -> None:
    from mintqo_lms.certificates import issue_certificates

    with Store(path) as store:
        issue_certificates(store, "2025", site_url=sb.url, moodle=moodle)


def test_certificate_issuing_at_every_call_and_fault_never_twice(bench):
    """One eligible coordinator: issuing publishes the record to the plugin and messages the holder. Whatever
    fails, after a clean re-run there is one certificate, published once under its code, one PDF, and at most
    one message (exactly one unless the answer to the message was lost: then it is unknown, never re-sent)."""
    import shutil

    sb, path, empty, folder = bench
    empty.restore()
    run_provision(sb, path)
    make_eligible(path)
    snap = Snapshot.take(sb, path, folder, "eligible")

    def restore() -> None:
        shutil.rmtree(path.parent / "certificates", ignore_errors=True)
        snap.restore()

    def action(moodle) -> None:
        issue_all(sb, path, moodle)

    restore()
    calls = record_calls(sb, lambda: action(calm_client(sb)))
    expected = certificate_state(sb, path)
    assert len(expected["codes"]) == 1 and expected["published"] == expected["codes"]
    assert len(expected["pdfs"]) == 1 and sum(expected["messages"].values()) == 1
    failures = []
    for index in range(len(calls)):
        for kind in ALL_FAULTS:
            case = faulty_then_clean(sb, calls, index, kind, restore, action, "certificates issue")
            got = certificate_state(sb, path)
            if max(got["messages"].values(), default=0) > 1 or len(got["codes"]) != 1:
                failures.append(f"{case}: {len(got['codes'])} certificates, messages {dict(got['messages'])}")
                continue
            lost = kind in ("lost", "timeout", "reset") and calls[index] == "core_message_send_instant_messages"
            if got["published"] != got["codes"] or len(got["pdfs"]) != 1 or got["codes"][0] not in got["pdfs"][0]:
                failures.append(f"{case}: published {got['published']}, PDFs {got['pdfs']}, codes {got['codes']}")
            if lost:  # unknown whether the message arrived: never re-sent on its own
                if sum(got["messages"].values()) > 1:
                    failures.append(f"{case}: the message was sent again")
                continue
            if got["shape"] != expected["shape"]:
                failures.append(f"{case}: differs from a fault-free run")
    assert not failures, "\n".join(failures[:10])


def kill_points(work) -> int:
    with count_transactions() as counter:
        work()
    return counter[0]


def test_publish_feedback_and_certificates_killed_at_every_commit(bench):
    """The same for publishing a new instrument, sending feedback messages and issuing a certificate: a process
    SIGKILLed inside each commit in turn, then a clean re-run. Publishing converges to the fault-free store and
    Moodle; a message or certificate never exists twice (a message whose outcome was never recorded stays
    unknown and is not re-sent on its own)."""
    import shutil
    import signal

    sb, path, empty, folder = bench
    empty.restore()
    run_provision(sb, path)
    provisioned = Snapshot.take(sb, path, folder, "provisioned-kill")

    def publish_v2() -> None:
        with Store(path) as store:
            publish(calm_client(sb), store, Config(), "2025", "selfanalysis/v2")

    points = kill_points(publish_v2)
    expected_store, expected_moodle = store_rows(path), moodle_state(sb)
    failures = []
    for kill_at in range(1, points + 1):
        provisioned.restore()
        assert killed_child(kill_at, publish_v2) == signal.SIGKILL
        publish_v2()
        CASES["selfanalysis publish SIGKILL"] += 1
        if store_rows(path) != expected_store or moodle_state(sb) != expected_moodle:
            failures.append(f"publish killed in transaction {kill_at}: differs from a fault-free run")

    provisioned.restore()
    analysed(path)
    analysed_snap = Snapshot.take(sb, path, folder, "analysed-kill")

    def feedback() -> None:
        with Store(path) as store:
            send_feedback(calm_client(sb), store, "2025")

    points = kill_points(feedback)
    for kill_at in range(1, points + 1):
        analysed_snap.restore()
        assert killed_child(kill_at, feedback) == signal.SIGKILL
        feedback()
        CASES["feedback messages SIGKILL"] += 1
        sent = Counter(m["useridto"] for m in sb.site.tables["messages"].values())
        rows = [dict(row) for row in store_rows(path)["feedback_messages"]]
        # every member has a record; one recorded sent has the message; none has it twice (a record left
        # "sending" is a message whose outcome the killed process never recorded: unknown, not re-sent)
        if max(sent.values(), default=0) > 1 or len(rows) != 2 or \
                any(r["status"] == "sent" and sent[r["userid"]] != 1 for r in rows) or \
                any(r["status"] not in ("sent", "sending") for r in rows):
            failures.append(f"feedback killed in transaction {kill_at}: messages {dict(sent)}, "
                            f"records {[(r['userid'], r['status']) for r in rows]}")

    provisioned.restore()
    make_eligible(path)
    eligible = Snapshot.take(sb, path, folder, "eligible-kill")

    def issue() -> None:
        issue_all(sb, path, calm_client(sb))

    shutil.rmtree(path.parent / "certificates", ignore_errors=True)
    points = kill_points(issue)
    for kill_at in range(1, points + 1):
        shutil.rmtree(path.parent / "certificates", ignore_errors=True)
        eligible.restore()
        assert killed_child(kill_at, issue) == signal.SIGKILL
        issue()
        CASES["certificates issue SIGKILL"] += 1
        got = certificate_state(sb, path)
        if len(got["codes"]) != 1 or got["published"] != got["codes"] or len(got["pdfs"]) != 1 \
                or sum(got["messages"].values()) > 1:
            failures.append(f"certificates killed in transaction {kill_at}: codes {got['codes']}, published "
                            f"{got['published']}, PDFs {got['pdfs']}, messages {sum(got['messages'].values())}")
    assert not failures, "\n".join(failures)


from test_sync_faults import attendance, full_sync, matrix  # noqa: E402,F401 - the sync engineer's snapshot


def test_sync_and_attendance_answer_lost_after_moodle_applied_it(matrix):
    """The sync matrix (tests/test_sync_faults.py) covers reset, timeout, 503 and exception; this adds the fifth
    kind at every call of a full sync and of an attendance import: Moodle applies the call (the attendance
    override is written), the answer never arrives. A clean re-run converges to the fault-free store."""
    sb, snap, sheet, config = matrix
    failures = []
    for name, action in (("sync --full", full_sync), ("attendance import", attendance(sheet))):
        snap.restore()
        calls = record_calls(sb, lambda: action(sb, snap.store_path))
        expected_store, expected_moodle = store_rows(snap.store_path), moodle_state(sb)
        for index in range(len(calls)):
            snap.restore()
            case = inject(sb, calls, index, "lost")
            try:
                action(sb, snap.store_path)
            except MintqoError:
                pass
            sb.faults.clear()
            action(sb, snap.store_path)
            CASES[f"{name} lost"] += 1
            if store_rows(snap.store_path) != expected_store:
                failures.append(f"{name} {case}: the store differs from a fault-free run")
            if moodle_state(sb) != expected_moodle:
                failures.append(f"{name} {case}: Moodle differs from a fault-free run")
    assert not failures, "\n".join(failures)
