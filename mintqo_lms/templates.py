"""Curriculum and instrument templates: versioned YAML in lms_templates/, validated here.

Why a module of its own: everything provisioning creates in Moodle is derived from these files, and
their keys become Moodle idnumbers. A typo found here costs a message; a typo found after provisioning
costs an orphaned activity on a live site. So validation is strict and every error names the file, the
YAML path (``sections[2].activities[1].type``) and, where known, the line.
"""

from __future__ import annotations

import copy
import os
import re
import string
from pathlib import Path
from typing import Any, Iterator, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.roster import slugify

__all__ = [
    "ACTIVITY_TYPES",
    "COMPLETION_RULES",
    "Activity",
    "AllowanceRule",
    "CertificateRule",
    "CourseNames",
    "CourseSpec",
    "Criterion",
    "Curriculum",
    "Dimension",
    "Instrument",
    "ScaleLevel",
    "Section",
    "Statement",
    "TemplateError",
    "load_curriculum",
    "load_instrument",
    "moodle_fraction",
    "no_judgement_fraction",
    "templates_dir",
]

ACTIVITY_TYPES = ("page", "url", "label", "assign", "quiz")
COMPLETION_RULES = ("none", "manual", "view", "submit")

# Which completion rules Moodle can actually track for each module type: a label cannot be "viewed",
# a page cannot be "submitted". For a quiz, "submit" means a finished (graded) attempt.
_COMPLETION_BY_TYPE = {
    "page": ("none", "manual", "view"),
    "url": ("none", "manual", "view"),
    "label": ("none", "manual"),
    "assign": ("none", "manual", "view", "submit"),
    "quiz": ("none", "manual", "view", "submit"),
}

# Placeholders a course name pattern may use; provisioning fills them in.
# ``network_short`` is the network without its "MINT-Netzwerk"/"zdi-Netzwerk"/"MINT-Region" prefix (readable
# short names such as "MINT-QO 2025 Ruhr & Emscher"); provisioning keeps short names unique per cohort.
COURSE_PLACEHOLDERS = ("cohort", "network", "network_slug", "network_short", "region")

# Moodle's grade fractions for answers (question_bank::fraction_options, 0..1). The XML importer rejects
# any fraction further than 0.00001 from one of these, so the instrument's scale must map onto them.
MOODLE_FRACTIONS = (
    1.0, 0.9, 0.8333333, 0.8, 0.75, 0.7, 0.6666667, 0.6, 0.5, 0.4, 0.3333333, 0.3, 0.25, 0.2,
    0.1666667, 0.1428571, 0.125, 0.1111111, 0.1, 0.05, 0.0,
)

_KEY_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_REF_RE = re.compile(r"^[a-z0-9_]+/[a-z0-9_-]+$")
_VERSION_RE = re.compile(r"^v[0-9]+$")
_GERMAN_TEXT_FIELDS = ("name", "title", "fullname", "text", "label")


class TemplateError(MintqoError):
    """A template file is unusable. Carries the file, the YAML path and (when known) the line; the command
    line shows it as one line with what to do, never as a traceback."""

    def __init__(self, file: str, path: str, message: str, line: int | None = None) -> None:
        self.file = file
        self.path = path
        self.message = message
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}: " if self.path else f"{self.file}: "
        suffix = f" (line {self.line})" if self.line else ""
        return f"{where}{self.message}{suffix}"


# --------------------------------------------------------------------------------------------------
# Models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_key(value: str) -> str:
    if not _KEY_RE.match(value):
        raise ValueError(f"invalid key {value!r}: use lower-case letters, digits, '-' and '_'")
    return value


class ScaleLevel(_Model):
    """One point of the answer scale, e.g. value 4 = "trifft voll zu".

    A level with ``no_judgement: true`` ("kann ich nicht beurteilen") is an answer that says nothing about the
    offer: it has no value, counts as not answered in every score and takes no part in the scale's min/max.
    An instrument has at most one such level."""

    value: int | None = None
    label: str = Field(min_length=1)
    no_judgement: bool = False


class Statement(_Model):
    """One first-person-plural statement an initiative rates about its offer."""

    key: str
    text: str = Field(min_length=1)
    _check = field_validator("key")(_check_key)


class Criterion(_Model):
    key: str
    title: str = Field(min_length=1)
    statements: list[Statement] = Field(min_length=1)
    _check = field_validator("key")(_check_key)


class Dimension(_Model):
    key: str
    title: str = Field(min_length=1)
    description: str = ""
    criteria: list[Criterion] = Field(min_length=1)
    _check = field_validator("key")(_check_key)

    def statements(self) -> list[Statement]:
        return [s for c in self.criteria for s in c.statements]


class Instrument(_Model):
    """The self-analysis instrument. `ref` is the path below lms_templates/ without .yaml."""

    version: str
    title: str = Field(min_length=1)
    description: str = ""
    scale: list[ScaleLevel] = Field(min_length=2)
    dimensions: list[Dimension] = Field(min_length=1)
    ref: str = Field(default="", exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if isinstance(value, str) and not _VERSION_RE.match(value.strip()):
            raise ValueError(f"invalid version {value!r}: use 'v' and a number, e.g. 'v1'")
        return value

    def statements(self) -> list[Statement]:
        return [s for d in self.dimensions for s in d.statements()]

    def scored_levels(self) -> list[ScaleLevel]:
        """The levels that carry a value (every level but the no-judgement one), in scale order."""
        return [level for level in self.scale if not level.no_judgement]

    def no_judgement_level(self) -> ScaleLevel | None:
        """The "kann ich nicht beurteilen" level, if the scale has one."""
        return next((level for level in self.scale if level.no_judgement), None)

    def scale_fractions(self) -> list[float]:
        """Moodle grade fraction (0..1) for each scale level, in scale order.

        Scored levels run evenly from 0 (lowest value) to 1 (highest). The no-judgement level gets
        :func:`no_judgement_fraction`: a Moodle fraction no scored level uses (so a stored answer names its level
        unambiguously, and it is never the 0 of the lowest level, which would read as a low score)."""
        values = [level.value for level in self.scored_levels() if level.value is not None]
        low, high = min(values), max(values)
        scored = [moodle_fraction((v - low) / (high - low)) for v in values]
        fractions = iter(scored)
        return [no_judgement_fraction(scored) if level.no_judgement else next(fractions) for level in self.scale]


class Activity(_Model):
    """One Moodle activity. `key` is stable: it becomes the activity's idnumber."""

    key: str
    type: str
    name: str = Field(min_length=1)
    intro: str = ""
    content: str = ""
    url: str | None = None
    instrument: str | None = None
    completion: str = "none"
    in_person: bool = False          # attendance: only coordinator/staff mark it done, never participants
    required_for_certificate: bool = False
    teamsubmission: bool = False     # an assignment the initiative (its group) submits once for all members

    _check = field_validator("key")(_check_key)

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in ACTIVITY_TYPES:
            raise ValueError(f"unknown activity type {value!r} (allowed: {', '.join(ACTIVITY_TYPES)})")
        return value

    @field_validator("completion")
    @classmethod
    def _completion(cls, value: str) -> str:
        if value not in COMPLETION_RULES:
            raise ValueError(f"unknown completion rule {value!r} (allowed: {', '.join(COMPLETION_RULES)})")
        return value


class Section(_Model):
    key: str
    name: str = Field(min_length=1)
    summary: str = ""
    activities: list[Activity] = Field(default_factory=list)
    _check = field_validator("key")(_check_key)


class CourseSpec(_Model):
    fullname: str = Field(min_length=1)
    shortname: str = Field(min_length=1)
    summary: str = ""


class CourseNames(BaseModel):
    fullname: str
    shortname: str
    summary: str


class CertificateRule(_Model):
    """Which activities must be complete, and which in-person workshops attended, for a certificate."""

    requires: list[str] = Field(default_factory=list)
    attendance_required: list[str] = Field(default_factory=list)


class AllowanceRule(_Model):
    """When a regional cycle's evidence for the regional allowance (money for running the workshops) is complete:
    each listed in-person workshop held with at least ``min_initiatives_present`` initiatives whose attendance the
    coordination recorded, and at least ``min_first_analyses`` initiatives with a finished first self-analysis.
    Read by :mod:`mintqo_lms.progress`; the office sets the numbers here, not in code."""

    name: str = Field(min_length=1)
    amount_eur: int = Field(ge=0)
    workshops: list[str] = Field(min_length=1)
    min_initiatives_present: int = Field(default=1, ge=1)
    min_first_analyses: int = Field(default=0, ge=0)


class Curriculum(_Model):
    key: str
    kind: Literal["cohort", "regional"]
    version: str
    course: CourseSpec
    sections: list[Section] = Field(min_length=1)
    course_completion: list[str] = Field(default_factory=list)
    certificate: CertificateRule | None = None
    allowance: AllowanceRule | None = None

    _instruments: dict[str, Instrument] = PrivateAttr(default_factory=dict)
    _check = field_validator("key")(_check_key)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        # `version: 2025.1` unquoted is a float in YAML; keep the text the author meant.
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    def activities(self) -> Iterator[tuple[Section, Activity]]:
        for section in self.sections:
            for activity in section.activities:
                yield section, activity

    def activity(self, key: str) -> Activity:
        for _, activity in self.activities():
            if activity.key == key:
                return activity
        raise KeyError(key)

    def instrument(self, ref: str) -> Instrument:
        """The instrument a quiz activity refers to, loaded and validated with the curriculum."""
        return self._instruments[ref]

    def render_course(self, cohort: str, network: str | None = None, region: str | None = None) -> CourseNames:
        values = {"cohort": cohort, "network": network, "region": region,
                  "network_slug": slugify(network) if network else None,
                  "network_short": short_network_name(network) if network else None}
        missing = [n for n in _placeholders(self.course.fullname + self.course.shortname) if values.get(n) is None]
        if missing:
            raise ValueError(f"course name of {self.key!r} needs a value for {', '.join(sorted(set(missing)))}")
        return CourseNames(
            fullname=self.course.fullname.format(**values),
            shortname=self.course.shortname.format(**values),
            summary=self.course.summary,
        )


_NETWORK_PREFIX = re.compile(r"^(?:(?:zdi|mint)[- ])?(?:netzwerk|netz|region|cluster)\s+", re.IGNORECASE)


def short_network_name(name: str) -> str:
    """``zdi-Netzwerk Ruhr & Emscher`` -> ``Ruhr & Emscher``, ``MINT-Region Trier`` -> ``Trier``; a name without
    such a prefix stays as it is."""
    short = _NETWORK_PREFIX.sub("", name.strip(), count=1).strip()
    return short or name.strip()


def no_judgement_fraction(scored: list[float]) -> float:
    """The Moodle fraction for a no-judgement answer, given the scored levels' fractions: the free Moodle fraction
    nearest the middle of the scale (0.5 for a four-point scale; ties go to the lower one).

    Why the middle: Moodle requires every answer to carry one of its fractions, and whatever it is shows up in
    Moodle's own question statistics. The lowest level's 0 would make "kann ich nicht beurteilen" look like the
    worst rating and be indistinguishable from it; the middle is neutral there. Our scoring never uses the
    value: it recognises the level and counts the statement as not answered."""
    free = [f for f in MOODLE_FRACTIONS if all(abs(f - used) >= 0.00001 for used in scored)]
    return min(free, key=lambda f: (abs(f - 0.5), f))


def moodle_fraction(fraction: float) -> float:
    """The Moodle grade fraction equal to `fraction` (within Moodle's tolerance), else ValueError."""
    for allowed in MOODLE_FRACTIONS:
        if abs(fraction - allowed) < 0.00001:
            return allowed
    raise ValueError(f"grade fraction {fraction:.7f} is not one Moodle accepts")


# --------------------------------------------------------------------------------------------------
# Locating and reading files


def templates_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The lms_templates/ directory.

    Order: explicit argument, $MINTQO_TEMPLATES_DIR, the checkout's lms_templates/ next to the package
    (source tree, editable install), the copy a wheel carries inside the package, ./lms_templates.
    """
    candidates: list[Path] = []
    if override is not None:
        candidates = [Path(override)]
    elif os.environ.get("MINTQO_TEMPLATES_DIR"):
        candidates = [Path(os.environ["MINTQO_TEMPLATES_DIR"])]
    else:
        package = Path(__file__).resolve().parent
        candidates = [package.parent / "lms_templates", package / "lms_templates", Path.cwd() / "lms_templates"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise TemplateError(str(candidates[0]), "", "templates directory not found (set MINTQO_TEMPLATES_DIR)")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys and remembers the line of every YAML path.

    PyYAML silently keeps the last of two equal keys; in a curriculum that hides a whole activity.
    """

    def __init__(self, stream: str, shown: str) -> None:
        super().__init__(stream)
        self.shown = shown
        self.lines: dict[str, int] = {}

    def load_checked(self) -> Any:
        node = self.get_single_node()
        if node is None:
            raise TemplateError(self.shown, "", "file is empty")
        self._walk(node, "")
        return self.construct_document(node)

    def _walk(self, node: yaml.Node, path: str) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                child = f"{path}.{key}" if path else str(key)
                line = key_node.start_mark.line + 1
                if key is not None and key in seen:
                    raise TemplateError(self.shown, child, f"duplicate key '{key}' (first on line {seen[key]})", line)
                if key is not None:
                    seen[key] = line
                self._walk(value_node, child)
                self.lines[child] = line
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, f"{path}[{index}]")


def _display_name(file: Path, root: Path) -> str:
    try:
        return str(file.resolve().relative_to(root.resolve().parent))
    except ValueError:
        return str(file)


# Parsed template files by resolved path: the bytes read, the data, the YAML paths' lines. PyYAML is slow (a
# curriculum takes ~0.1 s) and one command loads the same files many times. Keyed by content, not by mtime:
# an edit within the file system's timestamp granularity keeping the size would otherwise go unseen, and
# reading a few kilobytes costs microseconds. Callers get a deep copy of the data, never the cached object.
_PARSED: dict[Path, tuple[bytes, Any, dict[str, int]]] = {}


def _read_yaml(file: Path, shown: str) -> tuple[Any, dict[str, int]]:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise TemplateError(shown, "", "file not found") from None
    key = file.resolve()
    cached = _PARSED.get(key)
    if cached is None or cached[0] != raw:
        data, lines = _parse_yaml(raw, shown)
        cached = _PARSED[key] = (raw, data, lines)
    return copy.deepcopy(cached[1]), dict(cached[2])


class _StrictCLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """The same checks over libyaml's parser (ten times faster than PyYAML's own)."""

    def __init__(self, stream: str, shown: str) -> None:
        super().__init__(stream)
        self.shown = shown
        self.lines: dict[str, int] = {}

    load_checked = _StrictLoader.load_checked
    _walk = _StrictLoader._walk


def _parse_yaml(raw: bytes, shown: str) -> tuple[Any, dict[str, int]]:
    """libyaml's parser when it accepts the file; anything it refuses is read again by PyYAML's own, whose
    errors (line, column, wording) are the ones shown."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TemplateError(shown, "", "file is not UTF-8 encoded", line) from None
    if yaml.__with_libyaml__:
        try:
            loader = _StrictCLoader(text, shown)
            try:
                data = loader.load_checked()
            finally:
                loader.dispose()
            if isinstance(data, dict):
                return data, loader.lines
        except (yaml.YAMLError, TemplateError):
            pass
    return _parse_yaml_python(text, shown)


def _parse_yaml_python(text: str, shown: str) -> tuple[Any, dict[str, int]]:
    try:
        loader = _StrictLoader(text, shown)
    except yaml.reader.ReaderError as exc:  # a control character YAML does not allow (found by tests/test_fuzz.py)
        line = text[: exc.position].count("\n") + 1
        raise TemplateError(shown, "", f"a character YAML does not allow ({exc.character!r}); remove it", line) \
            from None
    try:
        data = loader.load_checked()
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise TemplateError(shown, "", f"a character YAML does not allow ({exc.character!r}); remove it", line) \
            from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unreadable"
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        raise TemplateError(shown, "", f"bad YAML syntax: {problem}{column}", line) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise TemplateError(shown, "", "expected a mapping at the top level", 1)
    return data, loader.lines


def _yaml_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_for(lines: dict[str, int], path: str) -> int | None:
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""


def _from_validation_error(exc: ValidationError, shown: str, lines: dict[str, int]) -> TemplateError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    path = _yaml_path(loc)
    field = loc[-1] if loc else ""
    kind = err["type"]
    if kind == "missing" or (kind == "string_too_short" and field in _GERMAN_TEXT_FIELDS):
        message = f"missing German {field}" if field in _GERMAN_TEXT_FIELDS else f"missing required field '{field}'"
    elif kind == "extra_forbidden":
        message = f"unknown field '{field}'"
    elif kind == "value_error":
        message = err["msg"].removeprefix("Value error, ")
    else:
        message = f"{err['msg']} (got {err.get('input')!r})"
    return TemplateError(shown, path, message, _line_for(lines, path))


def _placeholders(pattern: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]


# --------------------------------------------------------------------------------------------------
# Instruments


def _instrument_file(ref: str, root: Path) -> Path:
    return root / f"{ref}.yaml"


def load_instrument(ref: str, templates_root: str | os.PathLike[str] | None = None) -> Instrument:
    """Load and validate an instrument by reference, e.g. ``selfanalysis/v1``."""
    root = templates_dir(templates_root)
    if not _REF_RE.match(ref):
        raise TemplateError(ref, "", "invalid instrument reference (expected e.g. 'selfanalysis/v1')")
    file = _instrument_file(ref, root)
    shown = _display_name(file, root)
    data, lines = _read_yaml(file, shown)
    try:
        instrument = Instrument.model_validate(data)
    except ValidationError as exc:
        raise _from_validation_error(exc, shown, lines) from None
    instrument.ref = ref
    _check_instrument(instrument, file.stem, shown, lines)
    return instrument


def _check_instrument(inst: Instrument, stem: str, shown: str, lines: dict[str, int]) -> None:
    def fail(path: str, message: str) -> None:
        raise TemplateError(shown, path, message, _line_for(lines, path))

    # The version is baked into every question idnumber; the file name must say the same.
    if inst.version != stem:
        fail("version", f"version '{inst.version}' does not match the file name '{stem}.yaml'")

    values: dict[int, int] = {}
    labels: dict[str, int] = {}
    no_judgement: int | None = None
    for i, level in enumerate(inst.scale):
        if level.no_judgement:
            if no_judgement is not None:
                fail(f"scale[{i}].no_judgement", f"only one level may be 'no_judgement' (also scale[{no_judgement}])")
            if level.value is not None:
                fail(f"scale[{i}].value", "a no_judgement level has no value (it counts as not answered)")
            no_judgement = i
            if level.label in labels:
                fail(f"scale[{i}].label", f"duplicate scale label '{level.label}' (also scale[{labels[level.label]}])")
            labels[level.label] = i
            continue
        if level.value is None:
            fail(f"scale[{i}].value", "a scale level needs a value (or 'no_judgement: true')")
        assert level.value is not None
        if level.value in values:
            fail(f"scale[{i}].value", f"duplicate scale value {level.value} (also scale[{values[level.value]}])")
        if level.label in labels:
            fail(f"scale[{i}].label", f"duplicate scale label '{level.label}' (also scale[{labels[level.label]}])")
        values[level.value] = i
        labels[level.label] = i
    if len(values) < 2:
        fail("scale", "the scale needs at least two levels with a value")
    low, high = min(values), max(values)
    for i, level in enumerate(inst.scale):
        if level.value is None:
            continue
        try:
            moodle_fraction((level.value - low) / (high - low))
        except ValueError as exc:
            fail(f"scale[{i}].value", f"value {level.value}: {exc}; use evenly spaced values with 2–7 points")

    seen: dict[str, str] = {}
    for d, dim in enumerate(inst.dimensions):
        _unique(seen, dim.key, f"dimensions[{d}].key", fail)
        for c, crit in enumerate(dim.criteria):
            cpath = f"dimensions[{d}].criteria[{c}]"
            _unique(seen, crit.key, f"{cpath}.key", fail)
            for s, stmt in enumerate(crit.statements):
                spath = f"{cpath}.statements[{s}].key"
                _unique(seen, stmt.key, spath, fail)
                if not stmt.key.startswith(f"{dim.key}-"):
                    fail(spath, f"statement key '{stmt.key}' must start with its dimension key '{dim.key}-'")


def _unique(seen: dict[str, str], key: str, path: str, fail: Any) -> None:
    if key in seen:
        fail(path, f"duplicate key '{key}' (first at {seen[key]})")
    seen[key] = path


# --------------------------------------------------------------------------------------------------
# Curricula


def load_curriculum(
    path_or_name: str | os.PathLike[str], templates_root: str | os.PathLike[str] | None = None
) -> Curriculum:
    """Load and validate a curriculum, by name (``qualification``) or by path to a YAML file.

    Instruments referenced by quiz activities are resolved against the templates root: the explicit
    argument, else the parent of the file's ``curriculum/`` directory, else `templates_dir()`.
    """
    candidate = Path(path_or_name)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        file = candidate
        if templates_root is None and file.resolve().parent.name == "curriculum":
            templates_root = file.resolve().parent.parent
        root = templates_dir(templates_root)
    else:
        root = templates_dir(templates_root)
        file = root / "curriculum" / f"{path_or_name}.yaml"
    shown = _display_name(file, root)
    data, lines = _read_yaml(file, shown)
    try:
        curriculum = Curriculum.model_validate(data)
    except ValidationError as exc:
        raise _from_validation_error(exc, shown, lines) from None
    _check_curriculum(curriculum, root, shown, lines)
    return curriculum


def _check_curriculum(cur: Curriculum, root: Path, shown: str, lines: dict[str, int]) -> None:
    def fail(path: str, message: str) -> None:
        raise TemplateError(shown, path, message, _line_for(lines, path))

    _check_course_patterns(cur, fail)

    section_keys: dict[str, str] = {}
    activity_paths: dict[str, str] = {}
    for s, section in enumerate(cur.sections):
        _unique(section_keys, section.key, f"sections[{s}].key", fail)
        for a, act in enumerate(section.activities):
            path = f"sections[{s}].activities[{a}]"
            _unique(activity_paths, act.key, f"{path}.key", fail)
            _check_activity(cur, act, path, root, fail)

    known = {act.key: act for _, act in cur.activities()}
    for i, key in enumerate(cur.course_completion):
        if key not in known:
            fail(f"course_completion[{i}]", f"unknown activity key '{key}'")
        if known[key].completion == "none":
            fail(f"course_completion[{i}]", f"activity '{key}' has completion 'none' and cannot complete the course")

    cert = cur.certificate or CertificateRule()
    listed: set[str] = set()
    for i, key in enumerate(cert.requires):
        path = f"certificate.requires[{i}]"
        if key not in known:
            fail(path, f"unknown activity key '{key}'")
        if known[key].completion == "none":
            fail(path, f"activity '{key}' has completion 'none', so it can never count as complete")
        listed.add(key)
    for i, key in enumerate(cert.attendance_required):
        path = f"certificate.attendance_required[{i}]"
        if key not in known:
            fail(path, f"unknown activity key '{key}'")
        if not known[key].in_person:
            fail(path, f"activity '{key}' is not an in-person activity (in_person: true)")
        listed.add(key)
    for i, key in enumerate(cur.allowance.workshops if cur.allowance else []):
        if key not in known or not known[key].in_person:
            fail(f"allowance.workshops[{i}]", f"'{key}' is not an in-person activity of this curriculum "
                 "(in_person: true)")
    # The per-activity flag and the certificate rule say the same thing twice; keep them in step.
    for key, act in known.items():
        if act.required_for_certificate and key not in listed:
            fail(f"{activity_paths[key].removesuffix('.key')}.required_for_certificate",
                 f"activity '{key}' is required_for_certificate but not listed under certificate")
        if not act.required_for_certificate and key in listed:
            fail(f"{activity_paths[key].removesuffix('.key')}.required_for_certificate",
                 f"activity '{key}' is listed under certificate but not marked required_for_certificate: true")


def _check_course_patterns(cur: Curriculum, fail: Any) -> None:
    for field in ("fullname", "shortname"):
        pattern = getattr(cur.course, field)
        try:
            names = _placeholders(pattern)
        except ValueError as exc:
            fail(f"course.{field}", f"bad placeholder syntax: {exc}")
        for name in names:
            if name not in COURSE_PLACEHOLDERS:
                fail(f"course.{field}",
                     f"unknown placeholder '{{{name}}}' (allowed: {', '.join(COURSE_PLACEHOLDERS)})")
    # Shortnames are unique per Moodle site: they must vary with everything that makes a course unique.
    shortname = _placeholders(cur.course.shortname)
    if "cohort" not in shortname:
        fail("course.shortname", "must contain {cohort}: one course per cohort")
    if cur.kind == "regional" and not {"network", "network_slug", "network_short"} & set(shortname):
        fail("course.shortname", "must contain {network_short}, {network} or {network_slug}: one regional course "
                                 "per network")


def _check_activity(cur: Curriculum, act: Activity, path: str, root: Path, fail: Any) -> None:
    allowed = _COMPLETION_BY_TYPE[act.type]
    if act.completion not in allowed:
        fail(f"{path}.completion",
             f"completion '{act.completion}' is not possible for a {act.type} (allowed: {', '.join(allowed)})")
    if act.in_person and act.completion == "none":
        fail(f"{path}.completion", "an in-person activity needs a completion rule: attendance is recorded as completion")
    if act.type in ("page", "label") and not act.content:
        fail(f"{path}.content", f"a {act.type} needs content")
    if act.type in ("url", "assign", "quiz") and not act.intro:
        fail(f"{path}.intro", f"a {act.type} needs an intro")
    if act.type == "url":
        if not act.url or not re.match(r"^https?://[^\s/]+\.[^\s]+$", act.url):
            fail(f"{path}.url", f"a url activity needs an http(s) address (got {act.url!r})")
    elif act.url is not None:
        fail(f"{path}.url", f"only url activities have a url, not a {act.type}")
    if act.type == "quiz":
        if not act.instrument:
            fail(f"{path}.instrument", "a quiz needs an instrument reference, e.g. 'selfanalysis/v1'")
        if act.instrument not in cur._instruments:
            if not _REF_RE.match(act.instrument) or not _instrument_file(act.instrument, root).is_file():
                fail(f"{path}.instrument", f"instrument '{act.instrument}' not found "
                     f"(expected {_display_name(_instrument_file(act.instrument, root), root)})")
            cur._instruments[act.instrument] = load_instrument(act.instrument, root)
    elif act.instrument is not None:
        fail(f"{path}.instrument", f"only quiz activities refer to an instrument, not a {act.type}")
    if act.teamsubmission and act.type != "assign":
        fail(f"{path}.teamsubmission", f"only an assign can be a team submission, not a {act.type}")
