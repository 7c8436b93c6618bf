"""The parts of `enlist reproduce` and `enlist build --check` that need no build: comparing digests, explaining a
difference without diffoscope, what a manifest must say to be reproducible, and the copy of a tree that the
second build of `--check` runs in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.conftest import run_enlist

import sample_enlistment as sample
from enlist import diffreport, divergence, snapshot, vcs
from enlist.app import reproduce
from enlist.errors import ExitCode, InputError
from feedserver import FeedServer

C = "c" * 40


def test_files_that_differ_are_changed_missing_or_extra() -> None:
    recorded = {"public/a": "1" * 64, "public/b": "2" * 64, "public/c": "3" * 64}
    reproduced = {"public/a": "1" * 64, "public/b": "9" * 64, "public/d": "4" * 64}
    found = divergence.compare_files(recorded, reproduced)
    assert found == [
        divergence.FileDifference("public/b", "2" * 64, "9" * 64),
        divergence.FileDifference("public/c", "3" * 64, None),
        divergence.FileDifference("public/d", None, "4" * 64),
    ]
    assert divergence.file_table(found, ("recorded", "reproduced")) == [
        "  file      recorded      reproduced",
        "  public/b  222222222222  999999999999",
        "  public/c  333333333333  (missing)",
        "  public/d  (missing)     444444444444",
    ]


def test_an_action_with_the_same_key_and_other_outputs_is_the_culprit() -> None:
    def outputs(key: str, digest: str) -> divergence.ActionOutputs:
        return divergence.ActionOutputs(label=f"label of {key}", key=key, files={"obj/x": digest})

    first = {"gen": outputs("k1", "a"), "cc": outputs("k2", "b"), "same": outputs("k3", "c"), "gone": outputs("k", "d")}
    second = {"gen": outputs("k1", "A"), "cc": outputs("k2-other", "B"), "same": outputs("k3", "c")}
    found = divergence.compare_actions(first, second)
    assert [(d.action, d.culprit) for d in found] == [("gen", True), ("cc", False)]
    assert found[0].files == (divergence.FileDifference("obj/x", "a", "A"),)


def test_a_text_difference_is_a_unified_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENLIST_DIFFOSCOPE", "none")
    a, b = tmp_path / "a.h", tmp_path / "b.h"
    a.write_text("/* stamp */\n#define WHEN 1\n")
    b.write_text("/* stamp */\n#define WHEN 2\n")
    text = diffreport.explain("public/inc/when.h", a, b, names=("first", "second"), work=tmp_path / "work")
    assert text == (
        "--- first/public/inc/when.h\n"
        "+++ second/public/inc/when.h\n"
        "@@ -1,2 +1,2 @@\n"
        " /* stamp */\n"
        "-#define WHEN 1\n"
        "+#define WHEN 2\n"
    )
    assert a.read_text() == "/* stamp */\n#define WHEN 1\n"  # the originals are only read


def test_a_binary_difference_says_where_and_suggests_diffoscope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENLIST_DIFFOSCOPE", "none")
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"\x7fELF\0\0\0\1rest")
    b.write_bytes(b"\x7fELF\0\0\0\2rest-longer")
    text = diffreport.explain("public/bin/app", a, b, names=("recorded", "reproduced"), work=tmp_path / "w")
    assert text == (
        "public/bin/app: binary files differ (12 and 19 bytes, first difference at byte 0x7); "
        "install diffoscope for a readable report\n"
    )


def test_a_path_that_leaves_the_enlistment_is_never_staged(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("one\n")
    b.write_text("two\n")
    work = tmp_path / "deep" / "work"
    for path in ("../../escaped", "/etc/escaped", "public/../../escaped"):
        text = diffreport.explain(path, a, b, names=("recorded", "reproduced"), work=work)
        assert text == f"{path}: not explained (not a path inside the enlistment)\n"
    assert not (tmp_path / "escaped").exists() and not work.exists()


def _manifest(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "build": {"build_number": None, "official": False, "version": "1.0.0-dev"},
        "config": "chk-amd64",
        "format": 1,
        "lock": "f" * 64,
        "published": {"public/chk-amd64/bin/app": "e" * 64},
        "revision": {"commit": C, "dirty": False},
        "toolchain": {"kind": "zig", "target": "x86_64-linux-musl"},
        "tools": {"ziglang": "a" * 64},
    }
    doc.update(changes)
    return doc


def test_what_a_reproducible_manifest_asks_of_the_historic_bootstrap() -> None:
    dev = reproduce.checked(_manifest(), "m.json")
    assert (dev.commit, dev.config, dev.toolchain) == (C, "chk-amd64", "zig")
    assert reproduce.build_argv(dev) == ["build", "--no-cache", "--config", "chk-amd64"]
    official = reproduce.checked(
        _manifest(build={"build_number": 42, "official": True, "version": "1.0.42"}, config="fre-amd64"), "m.json"
    )
    assert reproduce.build_argv(official, jobs=3) == [
        "build", "--no-cache", "--config", "fre-amd64", "-j", "3", "--official", "--build-number", "42",
    ]  # fmt: skip


def test_the_historic_build_gets_exactly_the_recorded_host_variables() -> None:
    current = {"PATH": "/bin", "BUILD_TAG": "2", "LAB": "x", "ENLIST_ROOT": "/elsewhere"}
    recorded = reproduce.checked(_manifest(environment={"BUILD_TAG": "1", "NOTE": "a\nb"}), "m.json")
    assert recorded.environment == {"BUILD_TAG": "1", "NOTE": "a\nb"}
    allowed = ("BUILD_TAG", "LAB", "NOTE", "ZONE")
    assert reproduce.build_env(recorded, allowed, current) == {
        "PATH": "/bin", "BUILD_TAG": "1", "NOTE": "a\nb", "ENLIST_TOOLCHAIN": "zig",
    }  # fmt: skip
    assert reproduce.environment_report(recorded, allowed, current) == [
        "set BUILD_TAG=1 (as recorded)",
        'set NOTE="a\\nb" (as recorded)',  # a value that would break the line, in JSON quotes
        "unset LAB (allowed, but not set for the recorded build)",
    ]
    nothing = reproduce.checked(_manifest(environment={}), "m.json")
    assert reproduce.build_env(nothing, allowed, current) == {"PATH": "/bin", "ENLIST_TOOLCHAIN": "zig"}
    assert reproduce.environment_report(nothing, (), current) == [
        "no allowed host variable was set for the recorded build, nor is one set for this one"
    ]
    older = reproduce.checked(_manifest(), "m.json")  # written before the environment was recorded
    assert older.environment is None
    assert reproduce.build_env(older, allowed, current) == {
        "PATH": "/bin", "BUILD_TAG": "2", "LAB": "x", "ENLIST_TOOLCHAIN": "zig",
    }  # fmt: skip
    assert reproduce.environment_report(older, allowed, current) == [
        "the manifest does not record the allowed host variables ([environment] allow): "
        "the build sees this environment's values",
        "passing BUILD_TAG=2 (this environment's value)",
        "passing LAB=x (this environment's value)",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"revision": {"commit": C, "dirty": True}},
            "m.json: this build was made from a dirty tree (commit cccccccccccc plus uncommitted changes): "
            "it cannot be reproduced",
        ),
        ({"revision": {"commit": "", "dirty": True}}, "m.json: this build was made outside git"),
        ({"config": "debug"}, "m.json: bad config 'debug'"),
        ({"revision": None}, "m.json: the manifest lacks its revision, build or config"),
        ({"revision": {"commit": "--upload-pack=x", "dirty": False}}, "m.json: revision.commit is not a commit id"),
        ({"environment": {"A=B": "1"}}, "m.json: environment: 'A=B': '1' is not a variable an environment can hold"),
    ],
)
def test_manifests_that_cannot_be_reproduced(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        reproduce.checked(_manifest(**changes), "m.json")
    assert caught.value.render().startswith(message)
    assert caught.value.code == ExitCode.USAGE


def test_reproduce_refuses_a_dirty_manifest_before_touching_anything(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(_manifest(revision={"commit": C, "dirty": True})))
    done = run_enlist(["reproduce", str(path)], cwd=tmp_path)
    assert done.returncode == 2
    assert "it cannot be reproduced" in done.stderr and "hint: only builds of a clean tree" in done.stderr
    assert "Traceback" not in done.stderr
    missing = run_enlist(["reproduce", str(tmp_path / "nope.json")], cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"error: {tmp_path / 'nope.json'}: no such manifest")


def test_reproduce_reads_a_manifest_from_a_url_and_says_when_it_is_not_there(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    (feed / "builds").mkdir(parents=True)
    (feed / "builds" / "dirty.json").write_text(json.dumps(_manifest(revision={"commit": C, "dirty": True})))
    with FeedServer(feed) as server:
        dirty = run_enlist(["reproduce", f"{server.url}builds/dirty.json"], cwd=tmp_path)
        gone = run_enlist(
            ["reproduce", f"{server.url}builds/gone.json"], cwd=tmp_path, env={"ENLIST_HTTP_RETRIES": "0"}
        )
    assert dirty.returncode == 2, dirty.stderr
    assert f"{server.url}builds/dirty.json: this build was made from a dirty tree" in dirty.stderr
    assert gone.returncode == 3
    assert "cannot read the manifest" in gone.stderr and "not found" in gone.stderr


def test_a_manifest_outside_any_repository_needs_repo(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(_manifest()))
    done = run_enlist(["reproduce", str(path)], cwd=tmp_path)
    assert done.returncode == 2
    assert "not in a git repository" in done.stderr and "--repo PATH|URL" in done.stderr
    unknown = run_enlist(["reproduce", str(path), "--repo", str(tmp_path / "nowhere")], cwd=tmp_path)
    assert unknown.returncode == 3
    assert "git clone failed" in unknown.stderr


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def test_the_copy_of_a_git_tree_has_its_changes_and_none_of_its_outputs(tmp_path: Path) -> None:
    root = tmp_path / "enl"
    sample.write(root)
    (root / ".gitignore").write_text("obj/\n/out/\n/public/\n")
    (root / "projects/lex/gone.c").write_text("int gone;\n")
    (root / "projects/lex/staged.c").write_text("int staged = 1;\n")
    sample.commit(root)
    (root / "projects/app/main.c").write_text("int main(void) { return 7; }\n")  # modified
    (root / "projects/lex/staged.c").write_text("int staged = 2;\n")
    _git(root, "add", "projects/lex/staged.c")  # staged, not committed
    (root / "projects/lex/gone.c").unlink()  # deleted
    (root / "projects/new.c").write_text("int fresh;\n")  # untracked
    (root / "projects/app/obj/chk-amd64").mkdir(parents=True)
    (root / "projects/app/obj/chk-amd64/main.o").write_bytes(b"an output")  # ignored
    (root / "public").mkdir()
    (root / "public/x").write_text("published")
    copy = snapshot.snapshot(root, tmp_path / "copy")
    assert copy == tmp_path / "copy"
    files = {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file() and ".git" not in p.parts}
    originals = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert files == originals - {"projects/app/obj/chk-amd64/main.o", "public/x"}
    assert all((copy / f).read_bytes() == (root / f).read_bytes() for f in files)
    assert vcs.revision(copy) == vcs.revision(root)  # same commit, commit time and dirty state: same stamp
    assert vcs.revision(root).dirty
    assert _git(root, "worktree", "list").count("\n") == 1  # nothing was registered in the original


def test_the_copy_of_a_subdirectory_enlistment_and_of_a_tree_outside_git(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    sample.write(repo / "product")
    (repo / "README").write_text("a repository with an enlistment in product/\n")
    sample.commit(repo)
    copy = snapshot.snapshot(repo / "product", tmp_path / "copy")
    assert copy == tmp_path / "copy" / "product"
    assert (copy / "projects/app/main.c").read_text() == sample.FILES["projects/app/main.c"]
    assert vcs.revision(copy) == vcs.revision(repo / "product")

    plain = tmp_path / "plain"
    sample.write(plain)
    for output in ("out/chk-amd64/build.log", "public/chk-amd64/bin/app", "projects/app/obj/chk-amd64/app"):
        (plain / output).parent.mkdir(parents=True, exist_ok=True)
        (plain / output).write_text("output")
    copied = snapshot.snapshot(plain, tmp_path / "plain-copy")
    files = sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*") if p.is_file())
    assert files == sorted([*sample.FILES, "buildconf/enlist.toml"])
