"""The L2 side of the toolchain: enlist.toml with line numbers, the build spec, host tools, the cache dir."""

from __future__ import annotations

from pathlib import Path

import pytest

import sample_enlistment as sample
from enlist import workspace
from enlist.errors import ConfigError, EnvironmentFault, ExitCode
from enlist.rules.spec import ToolTree
from enlist.toolchain import build_spec, load_rules, warm_up
from enlist.workspace import cache_root


@pytest.fixture
def enlistment(tmp_path: Path) -> Path:
    sample.write(tmp_path)
    return tmp_path


def test_errors_in_enlist_toml_point_at_their_line(enlistment: Path) -> None:
    toml = enlistment / "buildconf/enlist.toml"
    toml.write_text(toml.read_text().replace('cpu = "baseline"', 'cpu = ["baseline"]'))
    with pytest.raises(ConfigError) as caught:
        load_rules(workspace.load(enlistment))
    line = toml.read_text().splitlines().index('cpu = ["baseline"]') + 1
    assert caught.value.render() == f"buildconf/enlist.toml:{line}: [toolchain] `cpu` must be a string"


def test_the_spec_holds_allowed_variables_only_and_real_paths(
    enlistment: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = enlistment / "buildconf/enlist.toml"
    toml.write_text(toml.read_text().replace("allow = []", 'allow = ["ENLIST_SAMPLE_OK", "ENLIST_UNSET"]'))
    monkeypatch.setenv("ENLIST_SAMPLE_OK", "yes")
    monkeypatch.setenv("ENLIST_SAMPLE_SECRET", "no")
    monkeypatch.delenv("ENLIST_UNSET", raising=False)
    monkeypatch.setenv("ENLIST_CACHE", str(tmp_path_factory.mktemp("cache")))
    tree = tmp_path_factory.mktemp("trees") / "zig"
    tree.mkdir()
    link = tree.with_name("zig-link")
    link.symlink_to(tree)
    settings = workspace.load(enlistment)
    spec = build_spec(
        settings,
        load_rules(settings),
        config="fre-amd64",
        packages=[ToolTree("ziglang", "a" * 64, str(link))],
    )
    assert spec.host_env == (("ENLIST_SAMPLE_OK", "yes"),)
    assert spec.packages[0].path == tree.resolve().as_posix()
    assert spec.cache_dir == cache_root().as_posix()
    assert (spec.root, spec.flavor, spec.arch) == (enlistment.resolve().as_posix(), "fre", "amd64")


def test_the_host_toolchain_needs_its_tools_on_path(
    enlistment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = enlistment / "buildconf/enlist.toml"
    toml.write_text(toml.read_text().replace('cc = "cc"', 'cc = "no-such-cc-anywhere"'))
    monkeypatch.setenv("ENLIST_TOOLCHAIN", "host")
    settings = workspace.load(enlistment)
    rules = load_rules(settings)
    assert rules.toolchain.kind == "host"
    with pytest.raises(EnvironmentFault) as caught:
        build_spec(settings, rules, config="chk-amd64")
    assert caught.value.code == ExitCode.ENVIRONMENT
    assert caught.value.message == "host toolchain: 'no-such-cc-anywhere' not found on PATH"
    assert warm_up(rules, ToolTree("ziglang", "a" * 64, "/nonexistent"), archs=["amd64"]) == []


def test_the_cache_dir_follows_enlist_cache_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENLIST_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("ENLIST_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_root() == tmp_path / "x" / "enlist"
