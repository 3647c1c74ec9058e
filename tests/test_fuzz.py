"""Fuzzing the files people write: the roster and attendance sheets, the templates and the config.

Whatever comes in, the answer is the product's own error (a sheet's problems each with file, line and column;
a template's file and key; the config's file and key) or a result — never another exception, never a traceback
on the command line, and a refused roster leaves the store byte for byte as it was. Deterministic for CI
(``derandomize``), modest in examples, no deadline (the sandbox machine may be busy)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mintqo_lms.attendance import AttendanceError, parse_sheet
from mintqo_lms.cli import main
from mintqo_lms.config import load_config
from mintqo_lms.moodle.errors import ConfigError
from mintqo_lms.roster import RosterError, parse_roster
from mintqo_lms.templates import TemplateError, load_curriculum, load_instrument

PROJECT = Path(__file__).resolve().parents[1]
TEMPLATES = PROJECT / "lms_templates"
ROSTER_LINES = (TEMPLATES / "roster.example.csv").read_text(encoding="utf-8").splitlines()
FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# cells people (and spreadsheets) produce: umlauts, tags, formulas, separators, quotes, line breaks, control
# characters, very long texts, numbers Excel made of them
cell = st.one_of(
    st.sampled_from(["", " ", "ja", "nein", "x", "1", "0", "Koordination", "Initiative", "=1+1", "<b>x</b>",
                     "a;b", '"', "'", "\n", "\r\n", "\x00", "Müller & Söhne", "@x", "–", "1.0", "45123",
                     "x@y", "a@b.example", "MINT-Region Trier", "gemeinnützig"]),
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=300),
)


@st.composite
def mutated_sheet(draw, lines: list[str]) -> bytes:
    """A sheet like ``lines`` with cells replaced, rows dropped or repeated, the header spoiled, or junk bytes."""
    rows = [line.split(";") for line in lines]
    for _ in range(draw(st.integers(0, 6))):
        action = draw(st.sampled_from(["cell", "drop", "repeat", "header", "width"]))
        if not rows:
            break
        r = draw(st.integers(0, len(rows) - 1))
        if action == "cell":
            c = draw(st.integers(0, max(len(rows[r]) - 1, 0)))
            if rows[r]:
                rows[r][c] = draw(cell)
        elif action == "drop":
            rows.pop(r)
        elif action == "repeat":
            rows.insert(r, list(rows[r]))
        elif action == "header":
            rows[0] = [draw(cell) for _ in rows[0]]
        else:
            rows[r] = rows[r][: draw(st.integers(0, len(rows[r])))]
    text = "\n".join(";".join(row) for row in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "junk"]))
    if encoding == "junk":
        return draw(st.binary(max_size=200))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(data=mutated_sheet(ROSTER_LINES))
def test_roster_csv_is_read_or_refused_with_located_problems(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.csv"
        path.write_bytes(data)
        try:
            parse_roster(path, "2025")
        except RosterError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.file == "roster.csv" and problem.message
            assert "roster.csv" in str(exc)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=mutated_sheet(ROSTER_LINES))
def test_roster_import_refused_leaves_the_store_byte_for_byte(data):
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "mintqo.toml").write_text(f'[store]\npath = "{base / "mintqo.db"}"\n', encoding="utf-8")
        good = base / "good.csv"
        good.write_text("\n".join(ROSTER_LINES) + "\n", encoding="utf-8")
        runner = CliRunner()
        assert runner.invoke(main, ["--config", str(base / "mintqo.toml"), "roster", "import", str(good),
                                    "--cohort", "2025"]).exit_code == 0
        store = base / "mintqo.db"
        import sqlite3

        conn = sqlite3.connect(store)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        before = hashlib.sha256(store.read_bytes()).hexdigest()
        bad = base / "roster.csv"
        bad.write_bytes(data)
        result = runner.invoke(main, ["--config", str(base / "mintqo.toml"), "roster", "import", str(bad),
                                      "--cohort", "2025"])
        assert "Traceback" not in result.output and "unexpected" not in result.output
        if result.exit_code != 0:
            assert "roster.csv" in result.output
            assert hashlib.sha256(store.read_bytes()).hexdigest() == before


ATTENDANCE_LINES = ["E-Mail;anwesend", "lea.schaefer@forscherwerkstatt.example;ja",
                    "tobias.becker@forscherwerkstatt.example;nein", "j.weissmueller@mint-trier.example;x"]


@FUZZ
@given(data=mutated_sheet(ATTENDANCE_LINES))
def test_attendance_csv_is_read_or_refused_with_located_problems(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ws1.csv"
        path.write_bytes(data)
        try:
            shown, rows, problems, unit = parse_sheet(path)
        except AttendanceError as exc:
            assert exc.problems and all(p.file == "ws1.csv" for p in exc.problems)
            return
        for problem in problems:
            assert problem.file == "ws1.csv" and problem.message


INSTRUMENT = yaml.safe_load((TEMPLATES / "selfanalysis" / "v1.yaml").read_text(encoding="utf-8"))
CURRICULUM = yaml.safe_load((TEMPLATES / "curriculum" / "regional_cycle.yaml").read_text(encoding="utf-8"))
scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True),
                   st.text(max_size=20), st.lists(st.integers(), max_size=2), st.just({}), st.just("<script>"))


@st.composite
def mutated_tree(draw, tree):
    """``tree`` (parsed YAML) with a few values replaced, keys removed or lists emptied."""
    import copy

    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 4))):
        node, path = tree, []
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            path.append(key)
            parent, node = node, node[key]
        if not path:
            continue
        action = draw(st.sampled_from(["value", "delete", "empty"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "empty":
            parent[path[-1]] = [] if isinstance(node, list) else ""
        else:
            parent[path[-1]] = draw(scalar)
    return tree


def _templates_copy(folder: Path) -> Path:
    root = folder / "templates"
    shutil.copytree(TEMPLATES, root)
    return root


@FUZZ
@given(tree=mutated_tree(INSTRUMENT), raw=st.one_of(st.none(), st.text(max_size=60)))
def test_an_instrument_template_loads_or_names_its_file(tree, raw):
    with tempfile.TemporaryDirectory() as folder:
        root = _templates_copy(Path(folder))
        target = root / "selfanalysis" / "v1.yaml"
        target.write_text(raw if raw is not None else yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
        try:
            load_instrument("selfanalysis/v1", root)
        except TemplateError as exc:
            assert "v1.yaml" in str(exc)


@FUZZ
@given(tree=mutated_tree(CURRICULUM))
def test_a_curriculum_template_loads_or_names_its_file(tree):
    with tempfile.TemporaryDirectory() as folder:
        root = _templates_copy(Path(folder))
        target = root / "curriculum" / "regional_cycle.yaml"
        target.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
        try:
            load_curriculum("regional_cycle", root)
        except TemplateError as exc:
            assert "regional_cycle.yaml" in str(exc)


CONFIG_KEYS = {"moodle": ["url", "token", "token_file", "connect_timeout", "read_timeout", "retries",
                          "max_form_fields", "lang", "allow_insecure_http"],
               "store": ["path"], "sync": ["every_minutes", "at", "page_size"], "feedback": ["messages"],
               "roles": ["manager", "student"], "programme": ["templates_dir", "root_category_idnumber"],
               "nonsense": ["x"]}
toml_value = st.one_of(st.integers(-3, 10**7), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
                       st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
                       st.lists(st.text(max_size=5), max_size=3), st.sampled_from(["https://m.example.org",
                                                                                  "http://10.0.0.1", "12:00"]))


def _toml(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


@FUZZ
@given(sections=st.dictionaries(st.sampled_from(sorted(CONFIG_KEYS)), st.data(), max_size=4),
       raw=st.one_of(st.none(), st.text(max_size=80)))
def test_a_config_loads_or_names_its_file_and_key(sections, raw):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mintqo.toml"
        if raw is not None:
            text = raw
        else:
            parts = []
            for section, data in sections.items():
                keys = data.draw(st.lists(st.sampled_from(CONFIG_KEYS[section]), unique=True, max_size=3))
                parts.append(f"[{section}]")
                parts += [f"{key} = {_toml(data.draw(toml_value))}" for key in keys]
            text = "\n".join(parts) + "\n"
        path.write_text(text, encoding="utf-8")
        try:
            load_config(path, environ={})
        except ConfigError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc).strip()
