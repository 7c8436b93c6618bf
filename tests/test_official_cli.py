"""What `enlist build --official` and `enlist publish` refuse before building anything, and the overlay of a
provided package as the planner sees it (no compiler needed; tests/test_official_build.py builds for real)."""

from __future__ import annotations

import contextlib
import io
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

import sample_enlistment as sample
from enlist import cli
from enlist.app import official
from enlist.engine import keys
from enlist.errors import GraphError, InputError
from enlist.model.action import ActionKind, PathRoots
from enlist.model.packages import PackageEnvironment, RestoredPackage
from enlist.model.project import Pass, TargetType
from enlist.release.package import package_names
from enlist.rules.planner import plan
from enlist.toolcache.provided import provided_paths, provided_trees
from test_planner import rules, spec


@pytest.fixture
def enlistment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The planner's small sample, committed, with build outputs ignored; enlist runs from inside it."""
    root = tmp_path / "enl"
    sample.write(root)
    (root / ".gitignore").write_text("obj/\n/out/\n/public/\n")
    sample.commit(root)
    monkeypatch.delenv("ENLIST_ROOT", raising=False)
    monkeypatch.delenv("ENLIST_CONFIG", raising=False)
    monkeypatch.chdir(root)
    return root


def enlist(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.run(list(args))
    return code, out.getvalue()


def test_an_official_build_refuses_a_tree_that_differs_from_its_commit(enlistment: Path) -> None:
    (enlistment / "projects/app/main.c").write_text("int main(void) { return 0; }\n")
    (enlistment / "projects/app/extra.c").write_text("int extra;\n")
    (enlistment / "projects/lex/util.c").unlink()
    code, text = enlist("build", "--official", "--build-number", "12")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=enlistment, capture_output=True, text=True).stdout
    assert code == 2
    assert text == (
        f"error: an official build needs a clean tree; 3 files differ from commit {commit[:12]}:\n"
        "   D projects/lex/util.c\n"
        "   M projects/app/main.c\n"
        "  ?? projects/app/extra.c\n"
        "  hint: commit or revert them (`git status`); add build outputs to .gitignore; untracked files count "
        "because a build can read them\n"
    )
    assert not (enlistment / "out" / "chk-amd64" / "packages").exists()


def test_ignored_files_do_not_make_a_tree_dirty(enlistment: Path) -> None:
    (enlistment / "projects/app/obj/chk-amd64").mkdir(parents=True)
    (enlistment / "projects/app/obj/chk-amd64/main.c.o").write_bytes(b"\x7fELF")
    (enlistment / "out").mkdir()
    revision = official.require_clean(enlistment)
    assert len(revision.commit) == 40 and not revision.dirty and revision.time == 1704164645


def test_an_official_build_needs_a_git_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample.write(tmp_path)
    monkeypatch.delenv("ENLIST_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    code, text = enlist("build", "--official", "--build-number", "1")
    assert code == 2
    assert text.startswith(f"error: an official build needs a git checkout: {tmp_path.resolve()} is not one\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--official"], "error: an official build needs a build number\n"),
        (["--official", "--build-number", "-3"], "error: an official build needs a build number\n"),
        (["--build-number", "4"], "error: --build-number is for official builds\n"),
        (["--publish", "./feed"], "error: --publish is for official builds\n"),
        (["--official", "--build-number", "4", "projects/app"], "error: an official build builds the whole"),
        (["--official", "--build-number", "4", "--pass", "1"], "error: an official build builds the whole"),
        (["--official", "--build-number", "4", "--publish", "relases"], "error: no feed 'relases' in buildconf/"),
    ],
)
def test_official_options_that_do_not_fit_are_refused(enlistment: Path, args: list[str], message: str) -> None:
    code, text = enlist("build", *args)
    assert code == 2 and text.startswith(message), text


def test_publish_needs_an_official_build_to_publish(enlistment: Path) -> None:
    code, text = enlist("publish", "./feed")
    assert code == 2
    assert text.startswith(f"error: no packages in {enlistment.resolve()}/out/chk-amd64/packages\n")
    assert "hint: an official build makes them: enlist build --official --build-number N" in text
    assert not (enlistment / "feed").exists()


def test_a_named_feed_needs_an_upload_url_unless_it_is_a_folder(enlistment: Path) -> None:
    (enlistment / "buildconf/packages.toml").write_text(
        '[feeds.share]\nurl = "../share"\n\n[feeds.web]\nurl = "http://127.0.0.1:9/packages/"\n\n'
        '[feeds.index]\nurl = "http://127.0.0.1:9/packages/"\nupload = "http://127.0.0.1:9/"\n'
    )
    assert official.resolve_target(enlistment, "share") == official.FolderTarget(enlistment.parent / "share")
    target = official.resolve_target(enlistment, "index")
    assert (target.upload, target.files) == ("http://127.0.0.1:9/", "http://127.0.0.1:9/packages/")  # type: ignore[union-attr]
    with pytest.raises(InputError, match="feed 'web' takes no uploads"):
        official.resolve_target(enlistment, "web")


def tree_with(tmp_path: Path, files: dict[str, bytes]) -> Path:
    tree = tmp_path / "cache" / "trees" / "ab" / ("ab" * 32)
    for rel, data in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    return tree


def environment(tree: Path, provides: str | None = "public") -> PackageEnvironment:
    return PackageEnvironment(packages=(RestoredPackage("lexpkg", "1.0.3", "ab" * 32, tree.as_posix(), provides),))


def test_a_provided_package_overlays_its_public_tree_before_anything_reads_it(tmp_path: Path) -> None:
    tree = tree_with(
        tmp_path,
        {
            "enlist-package.json": b"{}",
            "public/chk-amd64/inc/extra.h": b"#define EXTRA 1\n",
            "public/chk-amd64/lib/libextra.a": b"!<arch>\n",
            "public/fre-amd64/lib/libextra.a": b"!<arch>\n",
        },
    )
    trees, warnings = provided_trees(environment(tree), "chk-amd64")
    assert warnings == []
    assert provided_paths(trees) == ["public/chk-amd64/inc/extra.h", "public/chk-amd64/lib/libextra.a"]
    planned = plan(sample.projects(), sample.CONSUMPTIONS, settings=rules(), spec=spec(), provided=trees)
    overlay = planned.action(".:overlay:lexpkg-1.0.3")
    assert (overlay.kind, overlay.pass_) == (ActionKind.PUBLISH, Pass.PASS0)
    assert overlay.description == "OVERLAY lexpkg 1.0.3"
    assert overlay.publish == (
        (f"{tree.as_posix()}/public/chk-amd64/inc/extra.h", "public/chk-amd64/inc/extra.h"),
        (f"{tree.as_posix()}/public/chk-amd64/lib/libextra.a", "public/chk-amd64/lib/libextra.a"),
    )
    assert all(overlay.id in a.after for a in planned.actions if a is not overlay)


def test_an_overlay_key_does_not_depend_on_where_the_cache_is(tmp_path: Path) -> None:
    fingerprints = []
    for place in ("a", "b/deeper"):
        tree = tree_with(tmp_path / place, {"public/chk-amd64/inc/extra.h": b"x"})
        trees, _ = provided_trees(environment(tree), "chk-amd64")
        action = plan([], settings=rules(), spec=spec(), provided=trees).actions[0]
        roots = PathRoots(enlistment="/src/enl", packages=((tree.as_posix(), "@lexpkg/" + "ab" * 32),))
        fingerprints.append(keys.fingerprint(action, keys.normaliser(roots)))
    assert fingerprints[0] == fingerprints[1]


def test_a_package_and_a_project_cannot_publish_the_same_file(tmp_path: Path) -> None:
    tree = tree_with(tmp_path, {"public/chk-amd64/inc/lex.h": b"#define LEX\n"})
    trees, _ = provided_trees(environment(tree), "chk-amd64")
    with pytest.raises(GraphError, match=r"'public/chk-amd64/inc/lex\.h' is written by two actions"):
        plan(sample.projects(), sample.CONSUMPTIONS, settings=rules(), spec=spec(), provided=trees)


def test_a_provided_package_without_this_config_is_named(tmp_path: Path) -> None:
    tree = tree_with(tmp_path, {"public/fre-amd64/lib/libextra.a": b"!<arch>\n"})
    trees, warnings = provided_trees(environment(tree), "chk-amd64")
    assert provided_paths(trees) == []
    assert [w.render() for w in warnings] == [
        "buildconf/packages.toml: warning: package 'lexpkg' 1.0.3 provides nothing for chk-amd64 (it has fre-amd64)"
    ]
    bare = tree_with(tmp_path / "other", {"bin/tool": b""})
    with pytest.raises(InputError, match="has provides = \"public\" but no public/ tree"):
        provided_trees(environment(bare), "chk-amd64")
    assert provided_trees(environment(bare, provides=None), "chk-amd64") == ([], [])


def test_packages_are_named_after_targets_so_a_static_and_a_shared_library_share_one() -> None:
    projects = sample.projects()
    assert package_names(projects) == {"projects/app": "app", "projects/greet": "greet", "projects/lex": "lex"}
    lex = next(p for p in projects if p.dir == "projects/lex")
    shared = replace(lex, dir="projects/lex/dll", target_type=TargetType.DYNLINK)
    headers = replace(lex, dir="projects/Public_Headers", target_name=None, target_type=TargetType.NOTARGET)
    assert package_names([lex, shared, headers]) == {
        "projects/Public_Headers": "public-headers",
        "projects/lex": "lex",
        "projects/lex/dll": "lex",
    }
