"""The set-up files agree: pins live in requirements.txt, environment.yml points at it; `make lab` starts as root."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ["torch", "torchvision", "torchaudio", "numpy", "matplotlib", "ipywidgets", "jupyterlab",
            "ipykernel", "pytest", "soundfile", "playwright"]


def requirement_pins() -> dict[str, str]:
    """Package name -> pinned version, from requirements.txt."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.txt: {line!r} is not pinned with =="
            pins[name.strip().lower()] = version.strip()
    return pins


def test_every_needed_package_is_pinned():
    pins = requirement_pins()
    missing = [name for name in REQUIRED if name not in pins]
    assert not missing, f"requirements.txt lacks pins for {missing}"
    assert pins["torch"] != "2.13.0", "torch 2.13.0 breaks torchvision/torchaudio here (CONTRIBUTING.md)"


def test_environment_yml_installs_requirements_and_pins_nothing_else():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M), "environment.yml must ask for python=3.11"
    pip_lines = [line.strip()[1:].strip() for line in text.split("- pip:")[1].splitlines() if line.strip().startswith("-")]
    assert "-r requirements.txt" in pip_lines
    pinned_here = [line for line in pip_lines if "==" in line]
    assert not pinned_here, f"pins belong in requirements.txt only, found {pinned_here} in environment.yml"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version
    for name, pinned in requirement_pins().items():
        assert version(name).split("+")[0] == pinned, f"{name}: installed {version(name)}, pinned {pinned}"


def lab_command(*make_args: str) -> str:
    """The command line `make lab` would run (make -n prints it without running it)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    printed = subprocess.run(["make", "-n", "lab", *make_args], cwd=ROOT, capture_output=True, text=True, check=True)
    [command] = [line for line in printed.stdout.splitlines() if "jupyter lab" in line]
    return command


def test_make_lab_allows_root_only_for_root():
    assert lab_command("LAB_UID=0").split()[1:] == ["lab", "notebooks/", "--allow-root"]
    assert lab_command("LAB_UID=1000").split()[1:] == ["lab", "notebooks/"]
    assert ("--allow-root" in lab_command()) == (os.geteuid() == 0)  # LAB_UID defaults to this user's id
    assert lab_command("ARGS=--no-browser").endswith("--no-browser")
