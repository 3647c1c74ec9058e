"""Cohort keys: one documented pattern, checked where keys enter (library calls and every --cohort option)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mintqo_lms.keys import (
    COHORT_KEY,
    COHORT_KEY_PATTERN,
    CohortKeyError,
    UnknownCohortError,
    cohort_option,
    require_cohort,
    validate_cohort_key,
)
from mintqo_lms.moodle.errors import MintqoError
from mintqo_lms.store import Store


@pytest.mark.parametrize("key", ["2025", "2025-herbst", "2026-nrw-2", "1999"])
def test_valid_cohort_keys_are_returned_unchanged(key):
    assert validate_cohort_key(key) == key


@pytest.mark.parametrize("key, reason", [
    ("", "it is empty"),
    ("2025 ", "it has spaces around it"),
    (" 2025", "it has spaces around it"),
    ("25/26", None),
    ("2025/26", None),
    ("2025-Herbst", "use lowercase letters"),
    ("2025 herbst", "it contains a space"),
    ("2025_herbst", None),
    ("2025-", None),
    ("2025--x", None),
    ("herbst-2025", None),
    ("20251", None),
    ("2025-" + "x" * 40, "longer than 40 characters"),
])
def test_bad_cohort_keys_are_refused_with_the_pattern(key, reason):
    with pytest.raises(CohortKeyError) as caught:
        validate_cohort_key(key)
    message = str(caught.value)
    assert COHORT_KEY_PATTERN in message
    assert f"invalid cohort key {key!r}" in message
    assert "2025-herbst" in message  # an example of a good key
    if reason:
        assert reason in message
    assert isinstance(caught.value, MintqoError)  # the CLI turns it into one line


def test_non_text_key_is_refused():
    with pytest.raises(CohortKeyError):
        validate_cohort_key(2025)


def _command():
    @click.command()
    @cohort_option()
    def cmd(cohort: str) -> None:
        click.echo(f"cohort={cohort}")

    return cmd


def test_cohort_option_accepts_a_good_key_and_refuses_a_bad_one_as_usage_error():
    runner = CliRunner()
    assert runner.invoke(_command(), ["--cohort", "2025-herbst"]).output == "cohort=2025-herbst\n"
    bad = runner.invoke(_command(), ["--cohort", "25/26"])
    assert bad.exit_code == 2
    assert "Invalid value for '--cohort'" in bad.output and COHORT_KEY_PATTERN in bad.output
    assert "Traceback" not in bad.output
    missing = runner.invoke(_command(), [])
    assert missing.exit_code == 2 and "Missing option '--cohort'" in missing.output


def test_param_type_can_be_used_directly_with_a_default():
    @click.command()
    @click.option("--cohort", type=COHORT_KEY, default="2025")
    def cmd(cohort: str) -> None:
        click.echo(cohort)

    runner = CliRunner()
    assert runner.invoke(cmd, []).output == "2025\n"
    assert runner.invoke(cmd, ["--cohort", "2025 "]).exit_code == 2


def test_require_cohort_names_the_cohorts_that_exist(tmp_path):
    with Store(tmp_path / "t.db") as store:
        with pytest.raises(UnknownCohortError) as caught:
            require_cohort(store, "1999")
        assert "unknown cohort '1999': no roster yet (the store has no cohort yet)" in str(caught.value)
        store.db["cohorts"].insert_all([{"key": "2025", "title": "x", "created_at": 0},
                                        {"key": "2024", "title": "y", "created_at": 0}])
        assert require_cohort(store, "2025") == "2025"
        with pytest.raises(UnknownCohortError) as caught:
            require_cohort(store, "2052")
        assert "unknown cohort '2052': no roster yet (known cohorts: 2024, 2025)" in str(caught.value)
        assert caught.value.existing == ["2024", "2025"]
        with pytest.raises(CohortKeyError):
            require_cohort(store, "2025 ")
