"""What a descriptor can see: the predefined macros of one project in one config and pass (L1, pure).

$(PROJROOT)      absolute enlistment root              /src/enl
$(PROJECT_ROOT)  absolute project directory            /src/enl/projects/replica/lib
$(O)             absolute obj dir of the project       /src/enl/projects/replica/lib/obj/chk-amd64
$(PUBLIC_ROOT)   absolute public tree of the config    /src/enl/public/chk-amd64
$(FLAVOR) $(ARCH) from the config name                  chk, amd64
$(BUILD_PASS)    the pass reading the file             PASS0, PASS1, PASS2, POSTBUILD
$(PkgX...) $(SDK_INC_PATH) ...  given by the caller (the toolcache), read-only
INCLUDES C_DEFINES USER_C_FLAGS LINKER_FLAGS TARGETLIBS SOURCES
                 start defined (empty, or the caller's default) so `X = $(X) more` never warns
host variables   only those named by buildconf/enlist.toml [environment] allow; descriptors may override
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from enlist.model.project import Pass

APPENDABLE = ("INCLUDES", "C_DEFINES", "USER_C_FLAGS", "LINKER_FLAGS", "TARGETLIBS", "SOURCES")
BUILTIN = ("PROJROOT", "PROJECT_ROOT", "O", "PUBLIC_ROOT", "FLAVOR", "ARCH", "BUILD_PASS")
PASS_NAMES = {Pass.PASS0: "PASS0", Pass.PASS1: "PASS1", Pass.PASS2: "PASS2", Pass.POSTBUILD: "POSTBUILD"}


@dataclass(frozen=True, slots=True)
class Context:
    """Everything about the build that a descriptor may depend on; equal contexts give equal projects."""

    root: str  # absolute POSIX path of the enlistment
    config: str  # e.g. chk-amd64
    predefined: Mapping[str, str] = field(default_factory=dict)  # packages, SDK paths, toolchain defaults
    env: Mapping[str, str] = field(default_factory=dict)  # the allowed host variables that are set
    package_roots: tuple[str, ...] = ()
    generators: Mapping[str, str] = field(default_factory=dict)  # extension (".re") -> generator name
    strict: bool = False

    @property
    def flavor(self) -> str:
        return self.config.partition("-")[0]

    @property
    def arch(self) -> str:
        return self.config.partition("-")[2]

    @property
    def public_root(self) -> str:
        """$(PUBLIC_ROOT), enlistment-relative."""
        return f"public/{self.config}"

    def obj_dir(self, project_dir: str) -> str:
        """$(O) of a project, enlistment-relative."""
        return f"{project_dir}/obj/{self.config}" if project_dir else f"obj/{self.config}"

    def absolute(self, relative: str) -> str:
        return f"{self.root}/{relative}" if relative else self.root

    def fixed_macros(self, project_dir: str, pass_: Pass) -> dict[str, str]:
        """The read-only macros of a project in a pass."""
        clash = sorted(set(self.predefined) & set(BUILTIN))
        if clash:
            raise ValueError(f"predefined macros may not replace built-in ones: {', '.join(clash)}")
        fixed = {name: value for name, value in self.predefined.items() if name not in APPENDABLE}
        fixed.update(
            PROJROOT=self.root,
            PROJECT_ROOT=self.absolute(project_dir),
            O=self.absolute(self.obj_dir(project_dir)),
            PUBLIC_ROOT=self.absolute(self.public_root),
            FLAVOR=self.flavor,
            ARCH=self.arch,
            BUILD_PASS=PASS_NAMES[pass_],
        )
        return fixed

    def initial_values(self) -> dict[str, str]:
        """Writable starting values: allowed host variables, then the appendable keys."""
        values = dict(self.env)
        values.update({name: self.predefined.get(name, "") for name in APPENDABLE})
        return values
