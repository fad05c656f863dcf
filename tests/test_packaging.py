"""The sdist is self-contained: every source file the build and the C++
users need is in its file list (MANIFEST.in). A new header under csrc/ that
the sdist would leave out fails here, before a user's `pip install` of the
archive does (tools/check_sdist.sh, run by CI, builds and installs one).

The list is setuptools' own: `setup.py egg_info` writes SOURCES.txt, the
manifest `setup.py sdist` packs. Nothing is compiled.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Folders whose every file ships, and single files that must.
SHIPPED_TREES = ("csrc", "cmake", "tests/cpp", "tests/data", "tools")
SHIPPED_FILES = ("CMakeLists.txt", "setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "LICENSE")


def _files_under(tree):
    for folder, dirs, files in os.walk(os.path.join(ROOT, tree)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith((".pyc", ".o", ".so")):
                yield os.path.relpath(os.path.join(folder, name), ROOT).replace(os.sep, "/")


@pytest.fixture(scope="module")
def sdist_files(tmp_path_factory):
    if not os.path.exists(os.path.join(ROOT, "setup.py")):
        pytest.skip("not a source checkout")
    egg_base = tmp_path_factory.mktemp("egg")
    subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(egg_base)],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    (sources,) = egg_base.glob("*.egg-info/SOURCES.txt")
    return set(sources.read_text().split())


@pytest.mark.parametrize("tree", SHIPPED_TREES)
def test_sdist_ships_every_file_under(tree, sdist_files):
    expected = set(_files_under(tree))
    assert expected, f"nothing found under {tree}"
    missing = sorted(expected - sdist_files)
    assert not missing, f"the sdist would leave out {missing}: add them to MANIFEST.in"


def test_sdist_ships_the_build_files(sdist_files):
    missing = [f for f in SHIPPED_FILES if f not in sdist_files]
    assert not missing, missing


def test_sdist_ships_every_tracked_file_but_ci(sdist_files):
    # In a git checkout: whatever is committed ships, except CI's own files.
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                                 text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    missing = sorted(f for f in tracked if f not in sdist_files and not f.startswith((".ci/", ".git")))
    assert not missing, f"the sdist would leave out {missing}: add them to MANIFEST.in"


def test_sdist_ships_no_build_output(sdist_files):
    built = sorted(f for f in sdist_files
                   if f.startswith("build/") or f.endswith((".so", ".o", ".pyc")) or "__pycache__" in f)
    assert not built, built
