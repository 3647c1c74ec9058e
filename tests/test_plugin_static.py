"""Static checks of the Moodle plugin moodle/local/mintqo against its README contract.

Why static: CI has no Moodle, but most plugin mistakes that break an install or a call (a function
without its class, a missing language string, a service list that drifted from the contract, a PHP
syntax error) are visible in the source text alone.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[1] / "moodle" / "local" / "mintqo"
COMPONENT = "local_mintqo"


def read(relative: str) -> str:
    return (PLUGIN / relative).read_text(encoding="utf-8")


def php_block(text: str, start_pattern: str) -> str:
    """The text of the bracketed PHP array that follows ``start_pattern`` (balanced [ ])."""
    match = re.search(start_pattern, text)
    assert match, f"pattern {start_pattern!r} not found"
    start = text.index("[", match.end() - 1)
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "[":
            depth += 1
        elif text[index] == "]":
            depth -= 1
            if depth == 0:
                return text[start + 1:index]
    raise AssertionError(f"unbalanced array after {start_pattern!r}")


def top_level_entries(block: str) -> dict[str, str]:
    """``'key' => [ ... ]`` entries of a PHP array body, key -> body."""
    entries: dict[str, str] = {}
    for match in re.finditer(r"'([^']+)'\s*=>\s*\[", block):
        if block[:match.start()].count("[") != block[:match.start()].count("]"):
            continue  # Nested deeper than the top level.
        body = php_block(block[match.start():], r"=>\s*\[")
        entries[match.group(1)] = body
    return entries


def services_functions() -> dict[str, str]:
    return top_level_entries(php_block(read("db/services.php"), r"\$functions\s*=\s*\["))


def service_definition() -> tuple[str, str]:
    services = top_level_entries(php_block(read("db/services.php"), r"\$services\s*=\s*\["))
    assert len(services) == 1, f"db/services.php must declare exactly one service, found {sorted(services)}"
    return next(iter(services.items()))


def service_function_list() -> list[str]:
    _, body = service_definition()
    return re.findall(r"'([a-z0-9_]+)'", php_block(body, r"'functions'\s*=>\s*\["))


def readme_section(title: str) -> str:
    readme = read("README.md")
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def readme_plugin_functions() -> list[str]:
    return re.findall(r"^### `(local_mintqo_[a-z_]+)\(", readme_section("Functions"), re.M)


def lang_keys(lang: str) -> set[str]:
    return set(re.findall(r"^\$string\['([^']+)'\]\s*=", read(f"lang/{lang}/{COMPONENT}.php"), re.M))


def php_files() -> list[Path]:
    return sorted(PLUGIN.rglob("*.php"))


# --- version.php -------------------------------------------------------------------------------------

def test_version_declares_component_and_moodle_44():
    text = read("version.php")
    assert re.search(r"\$plugin->component\s*=\s*'local_mintqo'\s*;", text)
    requires = re.search(r"\$plugin->requires\s*=\s*(\d+)\s*;", text)
    assert requires and int(requires.group(1)) == 2024042200
    assert re.search(r"\$plugin->version\s*=\s*\d{10}\s*;", text)


# --- functions and their classes ---------------------------------------------------------------------

def test_services_declares_the_nine_readme_functions():
    assert sorted(services_functions()) == sorted(readme_plugin_functions())
    assert len(readme_plugin_functions()) == 14
    assert "local_mintqo_get_plugin_info" in readme_plugin_functions()
    assert "local_mintqo_get_course_state" in readme_plugin_functions()
    assert {"local_mintqo_configure_courses", "local_mintqo_upsert_events"} <= set(readme_plugin_functions())


@pytest.mark.parametrize("name", sorted(services_functions()))
def test_function_has_class_with_execute_trio_and_description(name):
    body = services_functions()[name]
    short = name.removeprefix(f"{COMPONENT}_")
    expected_class = f"local_mintqo\\external\\{short}"
    classname = re.search(r"'classname'\s*=>\s*'([^']+)'", body)
    assert classname, f"{name}: no classname in db/services.php"
    assert classname.group(1).replace("\\\\", "\\") == expected_class
    description = re.search(r"'description'\s*=>\s*'([^']+)'", body)
    assert description and description.group(1).strip(), f"{name}: empty description"
    assert re.search(r"'type'\s*=>\s*'(read|write)'", body), f"{name}: type must be read or write"

    path = PLUGIN / "classes" / "external" / f"{short}.php"
    assert path.exists(), f"{name}: missing {path.relative_to(PLUGIN)}"
    source = path.read_text(encoding="utf-8")
    assert re.search(r"^namespace local_mintqo\\external;", source, re.M)
    assert re.search(rf"^class {short} extends external_api\b", source, re.M)
    assert "use core_external\\external_api;" in source
    for method in ("execute_parameters", "execute", "execute_returns"):
        assert re.search(rf"public static function {method}\(", source), f"{path.name}: no {method}()"
    assert "validate_parameters(" in source, f"{path.name} never validates its parameters"


@pytest.mark.parametrize("name", sorted(services_functions()))
def test_write_functions_use_one_transaction(name):
    body = services_functions()[name]
    if "'write'" not in body:
        return
    source = read(f"classes/external/{name.removeprefix(f'{COMPONENT}_')}.php")
    assert "helper::in_transaction(" in source or "start_delegated_transaction(" in source


def test_delegated_transaction_helper_exists():
    assert "start_delegated_transaction()" in read("classes/local/helper.php")


def plugin_version() -> int:
    match = re.search(r"\$plugin->version\s*=\s*(\d{10})\s*;", read("version.php"))
    assert match
    return int(match.group(1))


def test_upgrade_has_a_savepoint_for_the_current_version():
    """Every bump of version.php gets its step in db/upgrade.php, and none points past the code."""
    text = read("db/upgrade.php")
    assert re.search(r"^function xmldb_local_mintqo_upgrade\(\$oldversion\)", text, re.M)
    checks = [int(v) for v in re.findall(r"\$oldversion\s*<\s*(\d{10})", text)]
    savepoints = [int(v) for v in re.findall(r"upgrade_plugin_savepoint\(\s*true\s*,\s*(\d{10})\s*,\s*'local'\s*,\s*'mintqo'\s*\)", text)]
    assert checks and checks == savepoints, "each `if ($oldversion < V)` ends with upgrade_plugin_savepoint(true, V, ...)"
    assert checks == sorted(checks)
    assert checks[-1] == plugin_version(), "the newest savepoint is the version in version.php"


def test_supported_range_is_declared():
    match = re.search(r"\$plugin->supported\s*=\s*\[\s*(\d+)\s*,\s*(\d+)\s*\]\s*;", read("version.php"))
    assert match and int(match.group(1)) == 404 and int(match.group(1)) <= int(match.group(2))


# --- PHPUnit tests -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(services_functions()))
def test_every_function_has_a_phpunit_test(name):
    short = name.removeprefix(f"{COMPONENT}_")
    path = PLUGIN / "tests" / "external" / f"{short}_test.php"
    assert path.exists(), f"{name}: no {path.relative_to(PLUGIN)}"
    source = path.read_text(encoding="utf-8")
    assert re.search(r"^namespace local_mintqo\\external;", source, re.M)
    assert re.search(rf"^final class {short}_test extends \\?advanced_testcase\b", source, re.M)
    assert re.search(rf"^#\[(\\PHPUnit\\Framework\\Attributes\\)?CoversClass\({short}::class\)\]", source, re.M)


def test_privacy_provider_has_a_phpunit_test():
    source = read("tests/privacy/provider_test.php")
    assert re.search(r"^#\[(\\PHPUnit\\Framework\\Attributes\\)?CoversClass\(provider::class\)\]", source, re.M)


def test_phpunit_tests_use_attributes_not_covers_annotations():
    """PHPUnit 11 (Moodle 5.x) deprecates @covers doc comments; attributes work on 9 and 11 alike."""
    for path in sorted((PLUGIN / "tests").rglob("*_test.php")):
        source = path.read_text(encoding="utf-8")
        assert "@covers" not in source, f"{path.name}: use #[CoversClass], not @covers"
        assert "resetAfterTest" in source, f"{path.name}: tests must reset the test site"


# --- service ---------------------------------------------------------------------------------------

def test_service_is_the_restricted_mintqo_sync_service():
    name, body = service_definition()
    assert name == "MINT-QO Sync"
    assert re.search(r"'shortname'\s*=>\s*'mintqo_sync'", body)
    assert re.search(r"'restrictedusers'\s*=>\s*1\b", body)
    assert re.search(r"'enabled'\s*=>\s*1\b", body)


def test_service_function_list_equals_readme():
    core = re.findall(r"`([a-z0-9_]+)`", readme_section("Service"))
    # Web-service function names are component_area_verb; this skips `mintqo_sync`, `restrictedusers`.
    core = [name for name in core if re.fullmatch(r"(core|enrol|mod)_[a-z0-9]+_[a-z0-9_]+", name)]
    assert len(core) == 21
    expected = sorted(set(core) | set(readme_plugin_functions()))
    listed = service_function_list()
    assert len(listed) == len(set(listed)), "a function is listed twice in the service"
    assert sorted(listed) == expected


# --- capabilities ----------------------------------------------------------------------------------

def test_capability_definition():
    text = read("db/access.php")
    capability = php_block(text, r"'local/mintqo:provision'\s*=>\s*\[")
    assert re.search(r"'riskbitmask'\s*=>\s*RISK_CONFIG\s*\|\s*RISK_PERSONAL", capability)
    assert re.search(r"'contextlevel'\s*=>\s*CONTEXT_SYSTEM", capability)
    assert re.search(r"'manager'\s*=>\s*CAP_ALLOW", capability)


# --- language strings ------------------------------------------------------------------------------

def used_string_keys() -> set[str]:
    keys: set[str] = set()
    for path in php_files():
        if path.parts[-3:-1] == ("lang", "en") or path.parts[-3:-1] == ("lang", "de"):
            continue
        source = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"get_string\(\s*'([^']+)'\s*,\s*'local_mintqo'", source))
        keys |= set(re.findall(r"new\s+\\?moodle_exception\(\s*'([^']+)'\s*,\s*'local_mintqo'", source))
        keys |= set(re.findall(r"helper::error\(\s*'([^']+)'", source))
        keys |= set(re.findall(r"'(privacy:metadata:[^']+)'", source))
    for capability in re.findall(r"'local/(mintqo:[a-z]+)'\s*=>", read("db/access.php")):
        keys.add(capability)
    keys.add("pluginname")
    return keys


def test_every_used_string_exists_in_both_languages():
    used = used_string_keys()
    assert "invalidsection" in used  # The scan itself works.
    for lang in ("en", "de"):
        missing = used - lang_keys(lang)
        assert not missing, f"lang/{lang}/local_mintqo.php lacks {sorted(missing)}"


def test_documented_error_codes_have_strings():
    codes = re.findall(r"`([a-z]+)`", readme_section("Conventions (all functions)").split("error codes:")[1])
    assert len(codes) == 11
    assert set(codes) <= lang_keys("en")


def test_language_files_have_the_same_keys():
    assert lang_keys("en") == lang_keys("de")


def test_privacy_provider_declares_the_external_location():
    source = read("classes/privacy/provider.php")
    assert "add_external_location_link('mintqo_sync'" in source
    for field in ("userid", "fullname", "email", "enrolments", "completion", "quizresponses"):
        assert f"'{field}' =>" in source


# --- PHP syntax ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", php_files(), ids=lambda path: str(path.relative_to(PLUGIN)))
def test_php_syntax(path):
    php = shutil.which("php")
    if php is None:
        pytest.fail("php-cli is needed to lint the plugin (CI installs php-cli; apt-get install php-cli)")
    result = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- sandbox parity ---------------------------------------------------------------------------------

def sandbox_registry() -> dict:
    module = importlib.import_module("mintqo_lms.sandbox.functions")
    return module.REGISTRY


def test_sandbox_implements_every_plugin_function():
    missing = sorted(set(services_functions()) - set(sandbox_registry()))
    assert not missing, f"mintqo_lms.sandbox.functions.REGISTRY lacks {missing}"


def test_sandbox_implements_every_service_function():
    missing = sorted(set(service_function_list()) - set(sandbox_registry()))
    assert not missing, f"mintqo_lms.sandbox.functions.REGISTRY lacks {missing}"


# --- pages, templates, observers (one team, one analysis) -------------------------------------------

def observers() -> list[dict[str, str]]:
    block = php_block(read("db/events.php"), r"\$observers\s*=\s*\[")
    found = []
    for entry in re.findall(r"\[(.*?)\]", block, re.S):
        fields = dict(re.findall(r"'([a-z]+)'\s*=>\s*'?([^',\n]+)'?", entry))
        found.append(fields)
    return found


def test_team_observers_exist_and_run_after_commit():
    entries = observers()
    assert {e["eventname"] for e in entries} == {"\\mod_quiz\\event\\attempt_submitted",
                                                  "\\core\\event\\course_module_updated"}
    for entry in entries:
        classname, method = entry["callback"].lstrip("\\").split("::")
        assert classname == "local_mintqo\\observer"
        source = read("classes/observer.php")
        assert re.search(rf"public static function {method}\(", source), f"observer::{method} missing"
        assert entry.get("internal") == "false", "observers must not run inside the quiz's transaction"


def test_view_capability_for_the_team_page():
    capability = php_block(read("db/access.php"), r"'local/mintqo:viewteamanalysis'\s*=>\s*\[")
    assert re.search(r"'captype'\s*=>\s*'read'", capability)
    for archetype in ("student", "teacher", "editingteacher", "manager"):
        assert re.search(rf"'{archetype}'\s*=>\s*CAP_ALLOW", capability), archetype


def page_files() -> list[Path]:
    return sorted(p for p in PLUGIN.glob("*.php") if p.name != "version.php")


@pytest.mark.parametrize("path", page_files(), ids=lambda path: path.name)
def test_pages_check_access_and_use_the_output_api(path):
    source = path.read_text(encoding="utf-8")
    if path.name == "verify.php":  # the public certificate check: no login, the system context, no capability
        assert "require_login(" not in source and "$PAGE->set_context(context_system::instance())" in source
    else:
        assert "require_login(" in source and "require_capability(" in source
    assert "$OUTPUT->header()" in source and "$OUTPUT->footer()" in source
    # HTML reaches the page only through renderers and templates, never echoed by hand.
    for line in source.splitlines():
        if line.lstrip().startswith("echo"):
            assert re.match(r"\s*echo \$OUTPUT->", line), f"{path.name}: {line.strip()}"


def templates() -> list[Path]:
    return sorted((PLUGIN / "templates").glob("*.mustache"))


def test_there_are_templates_and_pages():
    assert [p.name for p in page_files()] == ["team.php", "verify.php"]
    assert [p.name for p in templates()] == ["team_analysis.mustache", "verification.mustache"]


@pytest.mark.parametrize("path", templates(), ids=lambda path: path.name)
def test_template_documents_itself_and_uses_existing_strings(path):
    text = path.read_text(encoding="utf-8")
    assert f"@template local_mintqo/{path.stem}" in text
    example = re.search(r"Example context \(json\):\s*(\{.*?\n    \})\s*\n\}\}", text, re.S)
    assert example, f"{path.name}: no example context"
    json.loads(example.group(1))
    keys = set(re.findall(r"\{\{#str\}\}\s*([a-z0-9_:]+)\s*,\s*local_mintqo", text))
    assert keys, "the scan finds the template's strings"
    for lang in ("en", "de"):
        assert keys <= lang_keys(lang), f"lang/{lang} lacks {sorted(keys - lang_keys(lang))}"


def test_output_classes_name_their_templates():
    for path in sorted((PLUGIN / "classes" / "output").glob("*.php")):
        source = path.read_text(encoding="utf-8")
        for name in re.findall(r"'local_mintqo/([a-z_]+)'", source):
            assert (PLUGIN / "templates" / f"{name}.mustache").exists(), f"{path.name}: no template {name}"


def test_team_page_speaks_german_without_exam_words():
    """What members read on the team page (lang/de), checked for the words a self-analysis must never show."""
    text = read("lang/de/local_mintqo.php")
    strings = dict(re.findall(r"^\$string\['(teamanalysis[a-z_]*)'\]\s*=\s*'((?:[^'\\]|\\.)*)';", text, re.M))
    assert len(strings) >= 10
    for key, value in strings.items():
        for word in ("richtig", "falsch", "note", "punkte", "bewertung", "korrekt", "bestanden"):
            assert word not in value.lower(), f"{key}: {value}"
    assert "Einschätzung" in strings["teamanalysis_result"]
    assert "noch nicht aussagekräftig" in strings["teamanalysis_notmeaningful"]
