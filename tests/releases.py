"""Released versions of the template, and throwaway git repositories to update across.

A release is a `vX.Y.Z` tag on a commit whose message is `Release vX.Y.Z`; a clone made without
tags still finds the release commits by their message.
"""

import re
import shutil
import subprocess
from pathlib import Path

from tests.rendering import TEMPLATE_ROOT

RELEASE = re.compile(r"^Release (v\d+\.\d+\.\d+)$")
GIT = ["git", "-c", "user.name=Template Test", "-c", "user.email=test@example.com"]


def git(*args: str, cwd: Path = TEMPLATE_ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def _version_key(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.lstrip("v").split("."))


def releases() -> dict[str, str]:
    """Released versions (tag name -> commit) reachable from HEAD, from tags or commit messages."""
    found: dict[str, str] = {}
    for line in git("log", "--format=%H %s", "HEAD").splitlines():
        commit, _, subject = line.partition(" ")
        match = RELEASE.match(subject)
        if match:
            found.setdefault(match.group(1), commit)
    for tag in git("tag", "--list", "v*", "--merged", "HEAD").split():
        found[tag] = git("rev-list", "-n", "1", tag)
    return found


def previous_release() -> tuple[str, str]:
    """The newest release older than the working tree: what a user would be updating from.

    HEAD itself counts only while the working tree has changes on top of it."""
    head = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain"))
    older = {tag: commit for tag, commit in releases().items() if dirty or commit != head}
    if not older:
        raise LookupError("no earlier release to update from: tag one (see CHANGELOG.md)")
    tag = max(older, key=_version_key)
    return tag, older[tag]


def template_repository(destination: Path, old_commit: str, old_tag: str, new_tag: str) -> Path:
    """A git repository holding the template at `old_commit` (tagged `old_tag`) and, on top of
    it, the working tree as it is now (tagged `new_tag`)."""
    destination.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", old_commit], cwd=TEMPLATE_ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
    _commit_and_tag(destination, old_tag)

    for entry in destination.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    _copy_working_tree(destination)
    _commit_and_tag(destination, new_tag)
    return destination


def working_tree_clone(destination: Path) -> Path:
    """A clean git repository holding the working tree as it is now: what a user's clone is.

    A dirty template makes Copier record a commit of its own making, which no update finds."""
    destination.mkdir(parents=True)
    _copy_working_tree(destination)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=destination, check=True)
    subprocess.run(["git", "add", "-A"], cwd=destination, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "working tree"], cwd=destination, check=True)
    return destination


def _copy_working_tree(destination: Path) -> None:
    files = git("ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        source = TEMPLATE_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _commit_and_tag(repository: Path, tag: str) -> None:
    if not (repository / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repository, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repository, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", tag], cwd=repository, check=True)
    subprocess.run([*GIT, "tag", tag], cwd=repository, check=True)
