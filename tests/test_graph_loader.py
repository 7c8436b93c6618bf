"""Loading a real enlistment from disk through the parsed-graph cache: hits, every kind of miss, damaged
caches, racy edits, and what a warm load does not import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from enlist import digest, workspace
from enlist.errors import ConfigError, DescriptorError, InputError
from enlist.loader import load
from enlist.loader.cache import path_for

TRIO = Path(__file__).parent / "data" / "descriptors" / "enlistments" / "trio"
CONFIG = "chk-amd64"
LONG_AGO_NS = 1_000_000_000 * 1_000_000_000  # 2001: files this old have trustworthy stat signatures


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "trio"
    shutil.copytree(TRIO, target)
    for path in target.rglob("*"):
        os.utime(path, ns=(LONG_AGO_NS, LONG_AGO_NS))
    return target


def settings(root: Path) -> workspace.Settings:
    return workspace.load(root)


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def test_the_second_load_is_a_cache_hit_with_the_same_result(root: Path) -> None:
    cold = load(settings(root), CONFIG)
    warm = load(settings(root), CONFIG)
    assert (cold.from_cache, warm.from_cache) == (False, True)
    assert warm.projects == cold.projects
    assert warm.graph == cold.graph
    assert warm.diagnostics == cold.diagnostics
    assert warm.fingerprint == cold.fingerprint
    assert [p.dir for p in warm.projects] == ["projects/replica", "projects/tracker", "projects/agent"]
    assert path_for(root, CONFIG).is_file()


def test_files_lists_every_descriptor_read_with_its_digest(root: Path) -> None:
    loaded = load(settings(root), CONFIG)
    assert {f.path: f.digest for f in loaded.files} == {
        path: digest.of_file(root / path)
        for path in (
            "dirs",
            "projects/dirs",
            "projects/agent/sources",
            "projects/replica/sources",
            "projects/tracker/sources",
        )
    }


def test_an_edited_descriptor_is_a_miss(root: Path) -> None:
    first = load(settings(root), CONFIG)
    edit(root / "projects/tracker/sources", "SOURCES = tracker.c", "SOURCES = tracker.c throttle.c")
    second = load(settings(root), CONFIG)
    assert not second.from_cache
    assert second.fingerprint != first.fingerprint
    tracker = second.projects[1]
    assert [s.path for s in tracker.sources] == ["projects/tracker/tracker.c", "projects/tracker/throttle.c"]


def test_an_edited_include_file_is_a_miss(root: Path) -> None:
    (root / "projects/common.inc").write_text("COMMON = -DONE\n")
    edit(
        root / "projects/replica/sources",
        "TARGETNAME",
        "!INCLUDE ..\\common.inc\nC_DEFINES = $(COMMON)\nTARGETNAME",
    )
    assert [d.value for d in load(settings(root), CONFIG).projects[0].defines] == ["-DONE"]
    (root / "projects/common.inc").write_text("COMMON = -DTWO\n")
    loaded = load(settings(root), CONFIG)
    assert not loaded.from_cache
    assert [d.value for d in loaded.projects[0].defines] == ["-DTWO"]


def test_a_new_sources_file_where_there_was_none_is_a_miss(root: Path) -> None:
    (root / "projects/tracker/lib").mkdir()
    (root / "projects/tracker/dirs").write_text("DIRS = lib\n")
    (root / "projects/tracker/lib/dirs").write_text("")
    load(settings(root), CONFIG)
    (root / "projects/tracker/lib/sources").write_text("TARGETNAME = trackerlib\nTARGETTYPE = LIBRARY\n")
    loaded = load(settings(root), CONFIG)
    assert not loaded.from_cache
    assert "projects/tracker/lib" in [p.dir for p in loaded.projects]


def test_inputs_that_are_not_files_are_part_of_the_key(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(root)
    load(s, CONFIG)
    assert load(s, CONFIG).from_cache
    assert not load(s, CONFIG, predefined={"PkgZiglang": "/cache/zig"}).from_cache
    assert not load(s, CONFIG, package_roots=["/cache/zig"]).from_cache
    assert not load(s, CONFIG, public_provided=["public/chk-amd64/sdk"]).from_cache
    assert not load(s, CONFIG, strict=True).from_cache
    allowing = workspace.Settings(s.root, s.name, s.version, s.default_config, ("BUILD_TAG",), s.raw)
    monkeypatch.setenv("BUILD_TAG", "one")
    load(allowing, CONFIG)
    assert load(allowing, CONFIG).from_cache
    monkeypatch.setenv("BUILD_TAG", "two")
    assert not load(allowing, CONFIG).from_cache


def test_optional_dirs_selection(root: Path) -> None:
    s = settings(root)
    plain = load(s, CONFIG)
    assert "projects/tools" not in [p.dir for p in plain.projects]
    assert load(s, CONFIG, dirs=["projects/agent"]).from_cache  # names no OPTIONAL_DIRS entry: same result
    tools = load(s, CONFIG, dirs=["projects/tools"])
    assert not tools.from_cache and "projects/tools" in [p.dir for p in tools.projects]
    assert load(s, CONFIG, dirs=["projects\\tools\\"]).from_cache
    assert tools.select(["projects/tools"]) == ("projects/tools",)
    assert plain.select(["projects"]) == ("projects/replica", "projects/tracker", "projects/agent")
    assert plain.select(["projects/agent/src"]) == ("projects/agent",)
    with pytest.raises(InputError, match="'projects/tools' holds no project of this enlistment"):
        plain.select(["projects/tools"])


def test_a_damaged_cache_is_a_miss(root: Path) -> None:
    first = load(settings(root), CONFIG)
    cache = path_for(root, CONFIG)
    for damage in (b"", b"{not json", b'{"format": 2}\n', cache.read_bytes()[:-200]):
        cache.write_bytes(damage)
        loaded = load(settings(root), CONFIG)
        assert loaded.projects == first.projects and loaded.graph == first.graph
    header = cache.read_bytes().split(b"\n")[0]
    cache.write_bytes(header + b'\n{"projects": 42}\n')  # a valid header over a bad payload
    late = load(settings(root), CONFIG)
    assert late.from_cache and late.projects == first.projects


def test_an_edit_in_the_same_clock_tick_is_never_missed(root: Path) -> None:
    path = root / "projects/agent/sources"
    path.write_text(path.read_text().replace("--self-test", "--self-tost"))  # fresh: mtime is now
    load(settings(root), CONFIG)
    st = path.stat()
    path.write_text(path.read_text().replace("--self-tost", "--self-test"))  # same size...
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # ...and the same mtime
    loaded = load(settings(root), CONFIG)
    assert loaded.projects[2].tests[0].args == ("--self-test",)


def test_an_old_file_rewritten_with_its_old_mtime_is_still_noticed(root: Path) -> None:
    load(settings(root), CONFIG)
    load(settings(root), CONFIG)  # the signatures of old files are now trusted
    path = root / "projects/agent/sources"
    path.write_text(path.read_text().replace("--self-test", "--self-tost"))
    os.utime(path, ns=(LONG_AGO_NS, LONG_AGO_NS))  # mtime and size as before: only ctime tells
    assert load(settings(root), CONFIG).projects[2].tests[0].args == ("--self-tost",)


def test_an_unwritable_cache_only_costs_time(root: Path) -> None:
    (root / "out").write_text("not a directory")
    first = load(settings(root), CONFIG)
    second = load(settings(root), CONFIG)
    assert not second.from_cache and second.graph == first.graph


def test_bad_generators_table_is_a_config_error(root: Path) -> None:
    toml = root / "buildconf/enlist.toml"
    toml.write_text(toml.read_text().replace('extensions = [".re"]', 'extensions = "re"'))
    with pytest.raises(ConfigError) as info:
        load(settings(root), CONFIG)
    assert info.value.render().splitlines()[0] == (
        'buildconf/enlist.toml: [generators.re2c] extensions must be a list like [".re"]'
    )


WARM_PROBE = """
import sys, time
from pathlib import Path
from enlist import workspace
from enlist.loader import load
loaded = load(workspace.load(Path(sys.argv[1])), "chk-amd64")
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("networkx", "rich", "requests")
               or m in ("enlist.descriptors.sources", "enlist.descriptors.evaluator", "enlist.graph.edges"))
print(loaded.from_cache, heavy)
"""


def test_a_warm_load_imports_neither_networkx_nor_the_evaluator(root: Path) -> None:
    load(settings(root), CONFIG)
    out = subprocess.run(
        [sys.executable, "-c", WARM_PROBE, str(root)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "True []"


def test_concurrent_loads_leave_one_whole_cache(root: Path) -> None:
    probe = (
        "import sys; from pathlib import Path; from enlist import workspace; from enlist.loader import load; "
        "print(len(load(workspace.load(Path(sys.argv[1])), 'chk-amd64').graph.edges))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", probe, str(root)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    outputs = {p.communicate()[0].strip() for p in procs}
    assert len(outputs) == 1 and all(p.returncode == 0 for p in procs)
    assert load(settings(root), CONFIG).from_cache
    assert not list(path_for(root, CONFIG).parent.glob("*.tmp"))


def test_an_include_from_a_package_tree_is_read_and_keyed(root: Path, tmp_path: Path) -> None:
    package = tmp_path / "cache" / "trees" / "ab12"
    package.mkdir(parents=True)
    (package / "defs.inc").write_text("PKG_DEFINES = -DFROM_PACKAGE\n")
    edit(
        root / "projects/replica/sources",
        "TARGETNAME",
        "!INCLUDE $(PkgDefs)\\defs.inc\nC_DEFINES = $(PKG_DEFINES)\nTARGETNAME",
    )
    options = {"predefined": {"PkgDefs": package.as_posix()}, "package_roots": [package.as_posix()]}
    loaded = load(settings(root), CONFIG, **options)  # type: ignore[arg-type]
    assert [d.value for d in loaded.projects[0].defines] == ["-DFROM_PACKAGE"]
    assert (package / "defs.inc").as_posix() in [f.path for f in loaded.files]
    (package / "defs.inc").write_text("PKG_DEFINES = -DCHANGED\n")
    assert [d.value for d in load(settings(root), CONFIG, **options).projects[0].defines] == ["-DCHANGED"]  # type: ignore[arg-type]


def test_hostile_files_are_clear_errors(root: Path) -> None:
    sources = root / "projects/agent/sources"
    with sources.open("ab") as f:
        f.write(b"# padding\n" * 500_000)
    with pytest.raises(DescriptorError) as info:
        load(settings(root), CONFIG)
    assert (
        info.value.render().splitlines()[0]
        == "projects/agent/sources: file is too large (over 4194304 bytes)"
    )
    sources.write_text("!INCLUDE loop.inc\n")
    os.symlink("loop.inc", root / "projects/agent/loop.inc")
    with pytest.raises(DescriptorError) as info:
        load(settings(root), CONFIG)
    assert info.value.render() == (
        "projects/agent/sources:1: !INCLUDE 'projects/agent/loop.inc': cannot read: Too many levels of symbolic links"
    )
