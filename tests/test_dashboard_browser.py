"""The dashboard in a real browser: headless Chromium (Debian's ``chromium``) opens the file, runs its script, and
the test fails on a script error or a chart that did not render; a screenshot is taken and checked to be a real
image of the page.

Chromium is required, not optional: CI installs it (``.ci/run``); a machine without it fails here with the
command to install it, never skips silently. ``MINTQO_SCREENSHOT_DIR`` keeps the screenshot for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from report_data import (COHORT, DIMENSIONS, TRIER, analyse, attend, change, complete_everything, initiatives,
                         members, regional_course)

from mintqo_lms.reports import write_report

CHARTS = ["chart-module", "chart-workshops", "chart-scores", "chart-change", "chart-potentials"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed: the dashboard test needs it (Debian: apt-get install chromium); "
                ".ci/run installs it")


def browse(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
               *args, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def dumped(page: Path, tmp_path: Path) -> str:
    result = browse(page, tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def root_attributes(dom: str) -> dict[str, str]:
    tag = re.search(r"<html([^>]*)>", dom).group(1)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def full_dashboard(world, tmp_path):
    """A cohort with data for every chart: completions, regional attendance, seven initiatives with first and
    follow-up analyses, change and potentials; and a name that tries to inject a script."""
    _, store, _ = world
    complete_everything(store, TRIER)
    store.db.execute("UPDATE people SET last_name = '<script>document.title=\"pwned\"</script>' WHERE email = ?",
                     [TRIER])
    for number, (network, slug) in enumerate(initiatives(store)):
        course = regional_course(store, network)
        for key in ("ws1-teilnahme", "ws2-teilnahme", "ws3-teilnahme")[: 1 + number % 3]:
            attend(store, members(store, network, slug)[0], key, course=course)
        analyse(store, network, slug, 100 + number, {k: 40.0 + 3 * number for k in DIMENSIONS},
                potentials=["ang-01", "res-0" + str(1 + number % 3)])
        analyse(store, network, slug, 200 + number, {k: 50.0 + 2 * number for k in DIMENSIONS}, kind="followup",
                potentials=["gen-01"])
        change(store, network, slug, {k: 10.0 - number for k in DIMENSIONS})
    return write_report(store, COHORT, tmp_path / "report").files[0]


def test_dashboard_renders_every_chart_without_script_error_and_screenshots(full_dashboard, tmp_path):
    dom = dumped(full_dashboard, tmp_path)
    attributes = root_attributes(dom)
    assert "data-script-error" not in attributes, attributes
    assert "data-charts-failed" not in attributes, attributes
    assert attributes.get("data-rendered") == "ok", attributes
    assert attributes.get("data-charts") == str(len(CHARTS))
    for chart in CHARTS:
        assert f'id="{chart}-' in dom
    assert "<title>MINT-Qualitätsoffensive – Dashboard Durchgang 2025</title>" in dom  # the injected script never ran
    assert "&lt;script&gt;document.title" in dom

    keep = os.environ.get("MINTQO_SCREENSHOT_DIR")
    shot = (Path(keep) if keep else tmp_path) / "dashboard.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    result = browse(full_dashboard, tmp_path, "--window-size=1300,3600", f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert png_size(shot) == (1300, 3600)
    assert shot.stat().st_size > 100_000  # a drawn page, not a blank one (blank: a few kB)


def test_the_check_fails_on_a_script_error_and_on_a_chart_without_marks(full_dashboard, tmp_path):
    """The page's own check is what the test above relies on: prove that it catches both failures."""
    page = full_dashboard.read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace("</main>", "<script>notAFunction();</script></main>"), encoding="utf-8")
    attributes = root_attributes(dumped(broken, tmp_path))
    assert "notAFunction" in attributes.get("data-script-error", "")
    assert "data-rendered" not in attributes

    start = page.index('id="chart-module')
    end = page.index("</svg>", start)
    empty = tmp_path / "empty.html"
    empty.write_text(page[:start] + page[start:end].replace('class="mark"', 'class="gone"') + page[end:],
                     encoding="utf-8")
    attributes = root_attributes(dumped(empty, tmp_path))
    assert attributes.get("data-charts-failed", "").startswith("chart-module-"), attributes
    assert "data-rendered" not in attributes


def test_a_machine_without_chromium_fails_with_the_install_command(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception) as caught:
        chromium()
    assert "apt-get install chromium" in str(caught.value)
