"""Python envs with the real uv, real PyPI and real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_app.core.errors import RuntimeSetupError
from desktop_app.runtimes.python_env import (
    BYTECODE_MARKER,
    MARKER,
    ensure_venv,
    python_for_requirements,
    resolve_lock,
    venv_key,
)

REPO = Path(__file__).resolve().parents[2]
HEADER = f"# python {sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache for the whole session, so each wheel is downloaded once."""
    return tmp_path_factory.mktemp("python-env-cache")


@pytest.fixture(scope="session")
def six_lock(cache_dir: Path) -> str:
    return resolve_lock(["six"], cache_dir=cache_dir)


def run(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing of the test process (PYTHONPATH, cwd) may leak in.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=60, check=False)


def test_resolve_gives_sorted_pins_under_a_header(cache_dir: Path) -> None:
    lock = resolve_lock(["requests"], cache_dir=cache_dir)
    lines = lock.splitlines()
    assert lines[0] == HEADER
    pins = lines[1:]
    assert any(p.startswith("requests==") for p in pins)
    assert any(p.startswith("urllib3==") for p in pins)
    assert all("==" in p and not p.startswith("#") and "#" not in p for p in pins)
    assert pins == sorted(pins, key=str.lower)


def test_resolve_nothing_gives_only_the_header(cache_dir: Path) -> None:
    assert resolve_lock([], cache_dir=cache_dir) == HEADER + "\n"


def test_resolve_unknown_package_names_it(cache_dir: Path) -> None:
    with pytest.raises(RuntimeSetupError) as caught:
        resolve_lock(["six", "tidemill-no-such-package-xyz"], cache_dir=cache_dir)
    message = str(caught.value)
    assert "for 'tidemill-no-such-package-xyz'" in message  # which requirement failed
    assert "not found in the package registry" in message  # uv's own words
    assert "'six'" not in message


def test_resolve_impossible_version_says_so(cache_dir: Path) -> None:
    with pytest.raises(RuntimeSetupError) as caught:
        resolve_lock(["six==999.0"], cache_dir=cache_dir)
    assert "for 'six==999.0'" in str(caught.value)
    assert "no version of six==999.0" in str(caught.value)


def test_venv_imports_its_packages_and_is_found_again_fast(
        tmp_path: Path, cache_dir: Path) -> None:
    envs = tmp_path / "envs"
    lock, python = python_for_requirements(["six"], envs_dir=envs, cache_dir=cache_dir)
    assert python == envs / venv_key(lock) / "bin" / "python"
    pinned = next(p for p in lock.splitlines() if p.startswith("six=="))

    done = run(python, "import six, sys; print(six.__version__); print(sys.prefix)", tmp_path)
    assert done.returncode == 0, done.stderr
    version, prefix = done.stdout.split()
    assert pinned == f"six=={version}"
    assert Path(prefix) == python.parent.parent

    started = time.perf_counter()
    again = ensure_venv(lock, envs_dir=envs, cache_dir=cache_dir)
    elapsed = time.perf_counter() - started
    assert again == python
    assert elapsed < 0.005, f"warm lookup took {elapsed * 1000:.2f} ms"


def test_console_scripts_work_after_the_rename(tmp_path: Path, cache_dir: Path) -> None:
    # The venv is built in a temp dir and renamed; script shebangs must not point there.
    _, python = python_for_requirements(["pyflakes"], envs_dir=tmp_path, cache_dir=cache_dir)
    done = subprocess.run([str(python.parent / "pyflakes"), "--version"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


CHILD = """
import json, logging, sys, time
from pathlib import Path
from desktop_app.runtimes.python_env import ensure_venv

built = []
class Builds(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("built Python env"):
            built.append(record.getMessage())
logger = logging.getLogger("desktop_app.runtimes.python_env")
logger.addHandler(Builds())
logger.setLevel(logging.INFO)

lock, envs, cache, barrier, me = sys.argv[1:]
Path(barrier, f"ready-{me}").touch()
while not Path(barrier, "go").exists():
    time.sleep(0.001)
python = ensure_venv(lock, envs_dir=Path(envs), cache_dir=Path(cache))
print(json.dumps({"python": str(python), "builds": len(built)}))
"""


def test_concurrent_processes_build_once(tmp_path: Path, cache_dir: Path) -> None:
    lock = resolve_lock(["idna", "six"], cache_dir=cache_dir)
    envs, barrier = tmp_path / "envs", tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, lock, str(envs), str(cache_dir),
                                  str(barrier), str(i)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env)
                for i in range(20)]
    # Release them together once all have started, so they really race for the build.
    deadline = time.monotonic() + 60
    while len(list(barrier.glob("ready-*"))) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    (barrier / "go").touch()
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out))

    expected = str(envs / venv_key(lock) / "bin" / "python")
    assert {r["python"] for r in results} == {expected}
    assert sum(r["builds"] for r in results) == 1
    builder = json.loads((envs / venv_key(lock) / MARKER).read_text())["pid"]
    assert builder in {c.pid for c in children}
    assert sorted(p.name for p in envs.iterdir()) == sorted([venv_key(lock),
                                                             f".{venv_key(lock)}.lock"])
    assert run(Path(expected), "import idna, six", tmp_path).returncode == 0


def test_incomplete_venv_is_rebuilt(tmp_path: Path, cache_dir: Path, six_lock: str) -> None:
    key = venv_key(six_lock)
    # What a killed build leaves: a target without the marker, and a builder's temp dir.
    (tmp_path / key / "bin").mkdir(parents=True)
    (tmp_path / key / "half-written").write_text("x")
    (tmp_path / f".{key}.tmp-999999").mkdir()

    python = ensure_venv(six_lock, envs_dir=tmp_path, cache_dir=cache_dir)
    assert (tmp_path / key / MARKER).exists()
    assert not (tmp_path / key / "half-written").exists()
    assert not (tmp_path / f".{key}.tmp-999999").exists()
    assert run(python, "import six", tmp_path).returncode == 0


def test_failed_build_leaves_nothing(tmp_path: Path, cache_dir: Path) -> None:
    lock = f"{HEADER}\ntidemill-no-such-package-xyz==1.0\n"
    with pytest.raises(RuntimeSetupError) as caught:
        ensure_venv(lock, envs_dir=tmp_path, cache_dir=cache_dir)
    assert "tidemill-no-such-package-xyz" in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == [f".{venv_key(lock)}.lock"]


def test_empty_lock_venv_hides_tidemills_packages(tmp_path: Path, cache_dir: Path) -> None:
    import sqlalchemy  # noqa: F401  (Tidemill's own dependency: visible here, not there)

    lock = resolve_lock([], cache_dir=cache_dir)
    python = ensure_venv(lock, envs_dir=tmp_path / "envs", cache_dir=cache_dir)
    done = run(python, "import sqlalchemy", tmp_path)
    assert done.returncode != 0
    assert "No module named 'sqlalchemy'" in done.stderr
    assert run(python, "import json", tmp_path).returncode == 0


def test_uv_messages_stay_on_one_line_whatever_the_terminal_width(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uv wraps at COLUMNS; a daemon started from a narrow terminal inherits it, and the
    hint would then miss uv's words (seen under pytest-xdist, whose workers set COLUMNS)."""
    monkeypatch.setenv("COLUMNS", "40")
    with pytest.raises(RuntimeSetupError) as caught:
        resolve_lock(["tidemill-no-such-package-xyz"], cache_dir=cache_dir)
    assert "was not found in the package registry and you require" in str(caught.value)
    assert caught.value.hint == ("check the package name on PyPI (an import name can differ "
                                 "from its package)")


def _pycs(venv: Path) -> list[Path]:
    return [p for p in venv.rglob("six*.pyc")]


def test_a_venvs_packages_are_byte_compiled_when_built(
        tmp_path: Path, cache_dir: Path, six_lock: str) -> None:
    # Jobs see the venv read-only: without .pyc files each job compiles what it imports.
    python = ensure_venv(six_lock, envs_dir=tmp_path, cache_dir=cache_dir)
    venv = python.parent.parent
    assert (venv / BYTECODE_MARKER).exists()
    assert _pycs(venv), "six was installed without its bytecode"
    done = run(python, "import importlib.util as u, six; print(u.cache_from_source(six.__file__))",
               tmp_path)
    assert Path(done.stdout.strip()).exists()


def test_a_venv_of_an_earlier_version_is_compiled_on_first_use(
        tmp_path: Path, cache_dir: Path, six_lock: str) -> None:
    python = ensure_venv(six_lock, envs_dir=tmp_path, cache_dir=cache_dir)
    venv = python.parent.parent
    for pyc in _pycs(venv):  # what an earlier version built: complete, no bytecode
        pyc.unlink()
    (venv / BYTECODE_MARKER).unlink()
    assert ensure_venv(six_lock, envs_dir=tmp_path, cache_dir=cache_dir) == python
    assert (venv / BYTECODE_MARKER).exists() and _pycs(venv)
    assert run(python, "import six", tmp_path).returncode == 0
