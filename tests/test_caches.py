"""The caches in the data root heal when damaged, and a read-only data root sends new caches to the cache root."""
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganlib.audio
import ganlib.metrics
from ganlib.audio import RECOGNISER_FILE, SpokenDigitRecogniser, load_fsdd, load_recogniser
from ganlib.cache import atomic_save, load_or_rebuild
from ganlib.config import REPO_ROOT, cache_root, data_root
from ganlib.data import load_mnist
from ganlib.metrics import CLASSIFIER_FILE, MnistClassifier, load_classifier

LOADERS = (load_mnist, load_fsdd, load_classifier, load_recogniser, ganlib.audio.load_spoken_digits,
           ganlib.audio.corpus_codec, ganlib.audio.spoken_digit_images)


@pytest.fixture(scope="module")
def source_root():
    """The data root the tests were given (CI: a copy of shared/data), read from only."""
    return data_root()


def _fresh_root(source: Path, folder: Path) -> Path:
    """A data root holding only the raw data sets (MNIST's archives, FSDD's recordings), no caches."""
    (folder / "MNIST" / "raw").mkdir(parents=True)
    for path in (source / "MNIST" / "raw").glob("*.gz"):
        shutil.copy(path, folder / "MNIST" / "raw")
    shutil.copytree(source / "fsdd" / "recordings", folder / "fsdd" / "recordings")
    return folder


@pytest.fixture(scope="module")
def root(source_root, tmp_path_factory):
    return _fresh_root(source_root, tmp_path_factory.mktemp("data"))


@pytest.fixture(autouse=True)
def fresh_loaders():
    """The loaders remember what they loaded: forget it, before and after, so each test reads its own data root."""
    for loader in LOADERS:
        loader.cache_clear()
    yield
    for loader in LOADERS:
        loader.cache_clear()


def _tiny_judge(network):
    """Stands in for a judge's minute of training: an untrained network (seeded) that claims full accuracy."""
    def train(**_settings):
        torch.manual_seed(0)
        return network(), 1.0
    return train


# kind -> (the cache's path under the data root, what loads it); each MNIST and FSDD split has its own cache,
# all made and read by the same code, so the test split (the smaller) stands for both.
CACHES = {"mnist": ("MNIST/test_uint8.pt", lambda: load_mnist(train=False)),
          "fsdd": ("fsdd/test_8192.pt", lambda: vars(load_fsdd("test"))),
          "classifier": (CLASSIFIER_FILE, lambda: load_classifier().state_dict()),
          "recogniser": (RECOGNISER_FILE, lambda: load_recogniser().state_dict())}
DAMAGE = {"truncated": lambda data: data[: len(data) // 2], "garbage": lambda data: random.Random(0).randbytes(4096)}


def _same(a, b) -> bool:
    """Equal tensors, or equal containers of them."""
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("kind", CACHES)
def test_a_damaged_cache_is_moved_aside_said_once_and_rebuilt(kind, damage, root, monkeypatch, capsys):
    monkeypatch.setenv("GANLIB_DATA", str(root))
    monkeypatch.setattr(ganlib.metrics, "train_classifier", _tiny_judge(MnistClassifier))
    monkeypatch.setattr(ganlib.audio, "train_recogniser", _tiny_judge(SpokenDigitRecogniser))
    name, load = CACHES[kind]
    path = root / name
    expected = load()  # made now if an earlier case has not made it
    damaged = DAMAGE[damage](path.read_bytes())
    path.write_bytes(damaged)
    for loader in LOADERS:
        loader.cache_clear()
    capsys.readouterr()
    assert _same(load(), expected)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "unreadable" in lines[0] and "rebuilding" in lines[0]
    aside = path.with_name(path.name + ".corrupt")
    assert str(aside) in lines[0] and aside.read_bytes() == damaged
    for loader in LOADERS:
        loader.cache_clear()
    assert _same(load(), expected) and capsys.readouterr().out == ""  # the rebuilt cache loads as it is


def test_content_of_the_wrong_kind_is_rebuilt_like_a_damaged_file(tmp_path, capsys):
    path = tmp_path / "cache.pt"
    torch.save({"weights": torch.zeros(2)}, path)  # a readable file without the expected "lengths"
    built = load_or_rebuild(path, lambda: {"lengths": torch.ones(3)}, lambda content: content["lengths"])
    assert torch.equal(built, torch.ones(3)) and "KeyError" in capsys.readouterr().out
    assert torch.load(path.with_name("cache.pt.corrupt"), weights_only=True)["weights"].shape == (2,)


def test_atomic_save_interrupted_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "state.pt"
    atomic_save({"step": torch.tensor(1)}, path)

    def interrupted_save(obj, file, *args, **kwargs):
        file.write(b"PK\x03\x04 the first bytes of a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"step": torch.tensor(2)}, path)
    assert int(torch.load(path, weights_only=True)["step"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]  # no partial file left behind


def test_atomic_save_makes_files_others_can_read_as_the_umask_allows(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_save([torch.zeros(1)], tmp_path / "shared.pt")
    finally:
        os.umask(umask)
    assert (tmp_path / "shared.pt").stat().st_mode & 0o777 == 0o644


def test_the_cache_root_is_the_data_root_when_writable_else_ganlib_cache_else_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path / "data"))
    assert cache_root() == data_root() == (tmp_path / "data").resolve()
    monkeypatch.setattr("ganlib.config.writable", lambda folder: False)
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "mine"))
    assert cache_root() == (tmp_path / "mine").resolve()
    monkeypatch.delenv("GANLIB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == (tmp_path / "xdg" / "ganlib").resolve()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == (tmp_path / "home" / ".cache" / "ganlib").resolve()


# --- a data root shared read-only (an instructor's folder on a JupyterHub) ------------------------------------
READ_ONLY_SCRIPT = """
import json, os
from pathlib import Path
import ganlib.config
probe = ganlib.config.writable
if os.environ.get("SIMULATE_READ_ONLY"):  # no way to make a folder unwritable here: pretend, as the probe sees it
    ganlib.config.writable = lambda folder: Path(folder).resolve() != Path(os.environ["GANLIB_DATA"]).resolve()
from ganlib.audio import load_fsdd
from ganlib.config import cache_root, data_root
from ganlib.data import load_mnist
sizes = [len(load_mnist(train)[0]) for train in (True, False)] + [len(load_fsdd(split)) for split in ("train", "test")]
print(json.dumps({"writable": probe(data_root()), "cache_root": str(cache_root()), "sizes": sizes}))
"""


def _read_only_prefix(folder: Path) -> tuple[list[str], dict[str, str]]:
    """A command prefix (and environment) under which `folder` cannot be written, even by root: a read-only bind
    mount in a private mount namespace; else, for root, the user nobody; else a simulation of the probe."""
    read_only = ["unshare", "-rm", "sh", "-c", 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && '
                 'exec "$@"', str(folder)]
    if shutil.which("unshare") and subprocess.run([*read_only, "sh", "-c", 'if touch "$0/probe"; then exit 1; fi',
                                                   str(folder)], capture_output=True).returncode == 0:
        return read_only, {}
    (folder / "probe").unlink(missing_ok=True)
    if os.geteuid() == 0 and shutil.which("setpriv"):  # the folders are root's, so nobody cannot write them
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], {}
    return [], {"SIMULATE_READ_ONLY": "1"}


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _load_read_only(root: Path, cache: Path) -> str:
    """Run the loaders in a subprocess that cannot write `root`, check what they answer, and return what they print."""
    prefix, extra = _read_only_prefix(root)
    if prefix and prefix[0] == "setpriv":  # nobody must reach the data through pytest's private (0700) folders
        for folder in {root, *cache.parents, *root.parents} - {Path("/")}:
            folder.chmod(folder.stat().st_mode | 0o005)
        cache.chmod(0o777)
    env = dict(os.environ, GANLIB_DATA=str(root), GANLIB_CACHE=str(cache), HOME=str(cache), **extra)
    before = _files(root)
    out = subprocess.run([*prefix, sys.executable, "-c", READ_ONLY_SCRIPT], env=env, cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert _files(root) == before  # nothing was written into the shared data root
    *lines, answer = out.stdout.splitlines()
    result = json.loads(answer)
    assert result["sizes"] == [60000, 10000, 2700, 300] and result["cache_root"] == str(cache.resolve())
    assert result["writable"] is bool(extra)  # False when the folder is really read-only, not simulated
    return "\n".join(lines)


def test_a_read_only_data_root_is_read_and_new_caches_go_to_ganlib_cache(source_root, tmp_path):
    root, cache = _fresh_root(source_root, tmp_path / "shared"), tmp_path / "mine"
    cache.mkdir()
    assert _load_read_only(root, cache) == ""
    made = sorted(str(p.relative_to(cache)) for p in cache.rglob("*.pt"))
    assert made == ["MNIST/test_uint8.pt", "MNIST/train_uint8.pt", "fsdd/test_8192.pt", "fsdd/train_8192.pt"]
    for train in (True, False):  # decoded from the archives in place, the same as torchvision decodes them
        made_here = torch.load(cache / f"MNIST/{'train' if train else 'test'}_uint8.pt", weights_only=True)
        assert _same(made_here, load_mnist(train))


def test_caches_made_beforehand_in_a_read_only_root_are_used_and_a_damaged_one_is_remade_elsewhere(
        root, tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA", str(root))
    for train in (True, False):
        load_mnist(train)
    for split in ("train", "test"):
        load_fsdd(split)  # the instructor's caches, made while the root was writable
    damaged = root / "fsdd" / "test_8192.pt"
    intact = damaged.read_bytes()
    damaged.write_bytes(intact[:100])
    cache = tmp_path / "mine"
    cache.mkdir()
    try:
        printed = _load_read_only(root, cache)
    finally:
        damaged.write_bytes(intact)
    assert len(printed.splitlines()) == 1 and str(damaged) in printed and "read-only" in printed
    assert [str(p.relative_to(cache)) for p in cache.rglob("*.pt")] == ["fsdd/test_8192.pt"]
