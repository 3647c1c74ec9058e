"""A plain install (not editable) carries the templates: `pip install .` then `mintqo-lms demo` anywhere."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
TEMPLATE_FILES = {"roster.example.csv", "timetable.example.csv", "curriculum/qualification.yaml", "curriculum/regional_cycle.yaml",
                  "selfanalysis/v1.yaml", "selfanalysis/v2.yaml", "certificate/certificate.yaml"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(PROJECT)], check=True, capture_output=True)
    return next(out.glob("mintqo_lms-*.whl"))


def test_the_wheel_carries_every_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"mintqo_lms/lms_templates/{name}" for name in TEMPLATE_FILES}
    assert expected <= names
    checkout = {str(p.relative_to(PROJECT / "lms_templates")) for p in (PROJECT / "lms_templates").rglob("*")
                if p.is_file()}
    assert checkout == TEMPLATE_FILES   # a new template file must be added to the package data too


def test_demo_runs_from_an_empty_folder_after_a_plain_install(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)   # dependencies from the system
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True)
    work = tmp_path / "empty"
    work.mkdir()
    done = subprocess.run([str(env_dir / "bin" / "mintqo-lms"), "demo", "--out", "out"], cwd=work,
                          capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    located = subprocess.run([str(python), "-c", "from mintqo_lms.templates import templates_dir; "
                              "print(templates_dir())"], cwd=work, capture_output=True, text=True,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert located.stdout.strip().startswith(str(env_dir))   # the installed copy, not the checkout
    assert (work / "out" / "mintqo.db").exists()
