"""Git hooks: the shims `git uet hooks install` writes, and what they run.

A shim (template in the folder `hook_shims/` beside this module) is a few lines of POSIX sh with a marker
line; it runs the hook it replaced (`<hook>.legacy`) first, then execs `git uet hook-run`,
which lands in `run_hook`. A hook that is not ours is never overwritten: it is kept as
`<hook>.legacy`, still runs, and comes back on uninstall.

The gates run on what is being committed or pushed, not on the work tree: pre-commit on an
export of the index, pre-push on an export of each pushed commit.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from gitflow_uet.errors import UsageError
from gitflow_uet.integrate.gates import GateResult, check_names, run_gates
from gitflow_uet.git import checkout

if TYPE_CHECKING:
    from gitflow_uet.spec.config import Config
    from gitflow_uet.project import Project

HOOKS = ("pre-commit", "pre-push")
# Any version of the marker is ours, so a later version can replace an older shim.
MARKER = b"# git-uet-hook v"
_PYTHON_PLACEHOLDER = "@PYTHON@"


def gates_for_hook(config: Config, hook: str) -> list[str]:
    """The gate names `hook_gates` lists for `hook`."""
    if hook not in HOOKS:
        raise UsageError(f"unknown hook {hook!r} (known: {', '.join(HOOKS)})")
    return list(getattr(config.hook_gates, hook.replace("-", "_")))


# -- install / uninstall ----------------------------------------------------------------------

def shim(hook: str) -> str:
    """The shim for `hook`, with the running Python baked in (it has this gitflow_uet, even
    when git later runs the hook outside the venv it was installed from)."""
    template = resources.files("gitflow_uet.integrate").joinpath("hook_shims", hook).read_text()
    return template.replace(_PYTHON_PLACEHOLDER, shlex.quote(sys.executable))


def is_ours(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return MARKER in fh.read(4096)
    except OSError:
        return False


def install(project: Project) -> list[str]:
    """Install the shims for every hook in HOOKS; returns what was done, one line each.

    Refuses (and changes nothing) when a foreign hook is in place and a `.legacy` beside it
    too: keeping one would mean losing the other.
    """
    folder = checkout.hooks_dir(project.repo)
    for hook in HOOKS:
        path, legacy = folder / hook, folder / f"{hook}.legacy"
        if os.path.lexists(path) and not is_ours(path) and os.path.lexists(legacy):
            raise UsageError(f"{path} is not a git uet hook and {legacy} exists too: "
                             "move one of them away, then install again")
    messages = []
    for hook in HOOKS:
        path, legacy = folder / hook, folder / f"{hook}.legacy"
        text = shim(hook)
        if os.path.lexists(path):
            if is_ours(path):
                if path.read_text() == text:
                    messages.append(f"{hook}: already installed at {path}, nothing changed")
                    continue
                _write_executable(path, text)
                messages.append(f"{hook}: updated {path}")
                continue
            path.rename(legacy)
            messages.append(f"{hook}: kept the existing hook as {legacy} (it still runs first)")
        _write_executable(path, text)
        messages.append(f"{hook}: installed {path}")
    return messages


def uninstall(project: Project) -> list[str]:
    """Remove our shims (only ours) and put back the hooks they replaced."""
    folder = checkout.hooks_dir(project.repo)
    messages = []
    for hook in HOOKS:
        path, legacy = folder / hook, folder / f"{hook}.legacy"
        if os.path.lexists(path):
            if not is_ours(path):
                messages.append(f"{hook}: {path} is not a git uet hook, left alone")
                continue
            path.unlink()
            messages.append(f"{hook}: removed {path}")
        if os.path.lexists(legacy):
            legacy.rename(path)
            messages.append(f"{hook}: restored the previous hook from {legacy}")
    return messages or ["no git uet hooks installed, nothing changed"]


def _write_executable(path: Path, text: str) -> None:
    # Written aside and renamed over: git never sees a half-written hook.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.uet-tmp")
    tmp.write_text(text)
    tmp.chmod(0o755)
    os.replace(tmp, path)


# -- running ----------------------------------------------------------------------------------

def run_hook(project: Project, hook: str, args: list[str], stdin: bytes,
             on_result: Callable[[GateResult], None] | None = None) -> list[GateResult]:
    """Run the gates of `hook` on what is being committed (pre-commit) or pushed (pre-push).

    `args` are the hook's own arguments (pre-push: remote name and url), `stdin` its input
    (pre-push: one `<local ref> <local sha> <remote ref> <remote sha>` line per ref). Stops
    at the first red gate: that alone makes git refuse.
    """
    config = project.config
    names = gates_for_hook(config, hook)
    if not names:
        return []
    check_names(names, config.gates)
    if hook == "pre-commit":
        with tempfile.TemporaryDirectory(prefix="git-uet-pre-commit-") as tmp:
            checkout.export_index(project.repo, Path(tmp), _staged_index(project))
            return _run(project, names, Path(tmp), hook, on_result)
    results: list[GateResult] = []
    for sha in pushed_commits(stdin):
        with tempfile.TemporaryDirectory(prefix="git-uet-pre-push-") as tmp:
            checkout.export_commit(project.repo, sha, Path(tmp))
            results += _run(project, names, Path(tmp), hook, on_result, {"UET_COMMIT": sha})
        if not all(r.ok for r in results):
            break
    return results


def pushed_commits(stdin: bytes) -> list[str]:
    """The local shas a push sends, in order, each once; deletions (all zeros) left out."""
    shas: list[str] = []
    for line in stdin.decode("utf-8", "replace").splitlines():
        fields = line.split()
        if len(fields) != 4:
            continue
        sha = fields[1]
        if set(sha) != {"0"} and sha not in shas:
            shas.append(sha)
    return shas


def _staged_index(project: Project) -> Path:
    # git points hooks at the index being committed through GIT_INDEX_FILE (with
    # `commit -a` or `commit <paths>` it is a temporary one), possibly relative to the
    # worktree root where the hook runs. Our git layer scrubs GIT_* variables, so the path
    # is read here and handed over explicitly.
    given = os.environ.get("GIT_INDEX_FILE")
    if not given:
        return checkout.index_path(project.repo)
    path = Path(given)
    return path if path.is_absolute() else project.repo.here / path


def _run(project: Project, names: list[str], folder: Path, hook: str,
         on_result: Callable[[GateResult], None] | None,
         extra: dict[str, str] | None = None) -> list[GateResult]:
    config = project.config
    return run_gates(
        names, config.gates, folder,
        timeout=getattr(config, "gate_timeout", 1800),
        max_output=getattr(config, "max_output_bytes", 1_000_000),
        env_extra={"UET_HOOK": hook, **(extra or {})},
        on_result=on_result,
    )
