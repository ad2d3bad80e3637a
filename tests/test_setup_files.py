"""The set-up files agree: pins live in requirements.txt, environment.yml points at it."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ["torch", "torchvision", "torchaudio", "numpy", "matplotlib", "ipywidgets", "jupyterlab",
            "ipykernel", "nbval", "pytest", "soundfile", "playwright"]


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
    assert pins["torch"] != "2.13.0", "torch 2.13.0 breaks torchvision/torchaudio here (DEVELOPERS.md)"


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
