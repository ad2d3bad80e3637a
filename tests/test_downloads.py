"""Verified downloads against a local HTTP server: good, truncated, wrong, missing (404) and stalled files."""
import hashlib
import http.server
import io
import tarfile
import threading
import time

import numpy as np
import pytest
import soundfile

from ganlib.audio import fetch_sc09, fsdd_folder, load_sc09
from ganlib.config import data_root
from ganlib.data import DataNotFoundError, DownloadError, download_file, fetch_mnist, load_mnist

STALL_SECONDS = 30  # far longer than the timeouts below: a download that waits it out has hung


class _Site(http.server.BaseHTTPRequestHandler):
    """Serves FILES at /good/NAME, and the same names /truncated/, /wrong/ and /stall/; anything else is a 404."""

    FILES: dict[str, bytes] = {}

    def log_message(self, *args):
        pass

    def _headers(self, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self):
        kind, _, name = self.path.strip("/").partition("/")
        body = self.FILES.get(name)
        if body is None or kind not in ("good", "truncated", "wrong", "stall"):
            self.send_error(404)
        elif kind == "good":
            self._headers(len(body))
            self.wfile.write(body)
        elif kind == "truncated":
            self._headers(len(body))
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        elif kind == "wrong":
            wrong = bytes(reversed(body))
            self._headers(len(wrong))
            self.wfile.write(wrong)
        else:
            self._headers(len(body))
            self.wfile.write(body[:100])
            self.wfile.flush()
            time.sleep(STALL_SECONDS)


@pytest.fixture(scope="module")
def site():
    """A local server on 127.0.0.1, serving whatever tests put into _Site.FILES."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def file_md5_of(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()


CASES = {
    "truncated": "cut short",
    "wrong": "MD5",
    "missing": "HTTP 404",
    "stall": "timed out",
}


def test_a_good_download_is_kept(site, tmp_path):
    _Site.FILES["data.bin"] = bytes(range(256)) * 400
    path = download_file(f"{site}/good/data.bin", tmp_path / "data.bin", md5=file_md5_of(_Site.FILES["data.bin"]))
    assert path.read_bytes() == _Site.FILES["data.bin"] and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("case", CASES)
def test_a_bad_download_raises_a_clear_error_and_keeps_nothing(site, tmp_path, case):
    _Site.FILES["data.bin"] = bytes(range(256)) * 400
    start = time.monotonic()
    with pytest.raises(DownloadError, match=CASES[case]):
        download_file(f"{site}/{case}/data.bin", tmp_path / "data.bin",
                      md5=file_md5_of(_Site.FILES["data.bin"]), timeout=1.0)
    assert time.monotonic() - start < STALL_SECONDS / 2  # the stall hit the timeout, not the server's end
    assert list(tmp_path.iterdir()) == []


def test_download_file_refuses_a_non_positive_timeout(tmp_path):
    with pytest.raises(ValueError, match="`timeout`"):
        download_file("http://127.0.0.1:9/x", tmp_path / "x", timeout=0)


# --- MNIST, through the library's own code path ------------------------------------------------------------
@pytest.fixture()
def mnist_on_site(site):
    raw = data_root() / "MNIST" / "raw"
    for path in raw.glob("*.gz"):
        _Site.FILES[path.name] = path.read_bytes()
    return site


def test_mnist_is_downloaded_verified_and_read(mnist_on_site, tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path))
    monkeypatch.setattr("torchvision.datasets.mnist.MNIST.mirrors", [f"{mnist_on_site}/missing/",
                                                                     f"{mnist_on_site}/good/"])
    load_mnist.cache_clear()
    try:
        images, labels = load_mnist(train=False)  # the first mirror answers 404, the second is good
    finally:
        load_mnist.cache_clear()
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)


@pytest.mark.parametrize("case", ["truncated", "wrong", "stall"])
def test_a_bad_mnist_download_is_never_kept(mnist_on_site, tmp_path, case):
    with pytest.raises(DataNotFoundError) as error:
        fetch_mnist(tmp_path, mirrors=[f"{mnist_on_site}/{case}/"], timeout=1.0)
    message = str(error.value)
    assert str(tmp_path) in message and "GANLIB_DATA" in message and CASES[case] in message
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


def test_a_corrupt_local_mnist_file_is_moved_aside_and_fetched_again(mnist_on_site, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"half a file")
    fetch_mnist(tmp_path, mirrors=[f"{mnist_on_site}/good/"])
    assert (raw / "t10k-labels-idx1-ubyte.gz.corrupt").read_bytes() == b"half a file"
    assert (raw / "t10k-labels-idx1-ubyte.gz").read_bytes() == _Site.FILES["t10k-labels-idx1-ubyte.gz"]


# --- the FSDD release archive --------------------------------------------------------------------------------
def _archive(source, altered: str | None = None) -> bytes:
    """The release's tar.gz layout, optionally with one recording's bytes changed."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(source.iterdir()):
            content = path.read_bytes() if path.name != altered else b"RIFF not this recording"
            info = tarfile.TarInfo(f"free-spoken-digit-dataset-1.0.10/recordings/{path.name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fsdd_site(site):
    source = fsdd_folder(download=False)
    _Site.FILES["v1.0.10.tar.gz"] = _archive(source)
    _Site.FILES["altered.tar.gz"] = _archive(source, altered="7_jackson_3.wav")
    return site


@pytest.mark.parametrize("route, expected", [("truncated/v1.0.10.tar.gz", "cut short"),
                                             ("good/altered.tar.gz", r"alters 1 recordings.*7_jackson_3.wav"),
                                             ("stall/v1.0.10.tar.gz", "timed out"),
                                             ("good/nothing-here.tar.gz", "HTTP 404")])
def test_a_bad_fsdd_archive_is_refused_and_nothing_is_kept(fsdd_site, tmp_path, monkeypatch, route, expected):
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError, match=expected) as error:
        fsdd_folder(url=f"{fsdd_site}/{route}", timeout=1.0)
    assert str(tmp_path) in str(error.value) and "GANLIB_DATA" in str(error.value)
    assert list((tmp_path / "fsdd" / "recordings").iterdir()) == []


# --- SC09 (Speech Commands v0.02's digit words) ----------------------------------------------------------------
def _speech_commands_archive() -> bytes:
    """Speech Commands' tar.gz layout in miniature: two digit words, a word that is not a digit, the split lists."""
    tone = (0.1 * np.sin(np.linspace(0, 200 * np.pi, 1600))).astype("float32")
    wav = io.BytesIO()
    soundfile.write(wav, tone, 16_000, format="WAV")
    files = {"./zero/a1_nohash_0.wav": wav.getvalue(), "./one/b2_nohash_0.wav": wav.getvalue(),
             "./dog/c3_nohash_0.wav": wav.getvalue(), "./testing_list.txt": b"one/b2_nohash_0.wav\n",
             "./validation_list.txt": b"", "./LICENSE": b"CC BY 4.0"}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def sc09_site(site):
    _Site.FILES["speech_commands_v0.02.tar.gz"] = archive = _speech_commands_archive()
    return site, hashlib.sha256(archive).hexdigest()


def test_sc09_is_downloaded_verified_and_only_its_digits_are_unpacked(sc09_site, tmp_path):
    site, sha256 = sc09_site
    folder = fetch_sc09(tmp_path, url=f"{site}/good/speech_commands_v0.02.tar.gz", sha256=sha256, timeout=5.0)
    assert sorted(path.name for path in folder.iterdir()) == ["one", "testing_list.txt", "validation_list.txt", "zero"]
    training, testing = load_sc09(tmp_path, "training"), load_sc09(tmp_path, "testing")
    assert training.labels.tolist() == [0] and testing.labels.tolist() == [1]
    assert training.waveforms.shape == (1, 8192) and training.lengths.tolist() == [800]  # 0.1 s at 8 kHz


@pytest.mark.parametrize("route, wrong_hash, expected", [("truncated", False, "cut short"),
                                                         ("good", True, "SHA256 is"),
                                                         ("stall", False, "timed out"),
                                                         ("good/missing", False, "HTTP 404")])
def test_a_bad_sc09_download_is_refused_and_nothing_is_kept(sc09_site, tmp_path, route, wrong_hash, expected):
    site, sha256 = sc09_site
    name = "speech_commands_v0.02.tar.gz" if route != "good/missing" else "nothing.tar.gz"
    with pytest.raises(DownloadError, match=expected):
        fetch_sc09(tmp_path, url=f"{site}/{route.split('/')[0]}/{name}", sha256="0" * 64 if wrong_hash else sha256,
                   timeout=1.0)
    assert list((tmp_path / "SpeechCommands").iterdir()) == []
