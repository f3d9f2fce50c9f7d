"""The user docs stay true: their links resolve, and every command README.md shows runs.

Links: every relative link and image of README.md, models/README.md, BENCHMARKS.md and docs/*.md points to a file
of the repository (and a ``#section`` of a Markdown file to one of its headings). Commands: every ``fer-toolkit
COMMAND`` and ``python -m MODULE`` in README's code (fenced blocks and inline spans) runs with ``--help`` and
exits 0, one subprocess per distinct command; every ``make TARGET`` in its fenced blocks is a Makefile target.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, ROOT / "models" / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`]+)`")
FER = re.compile(r"(?:^|[\s|;&(])fer-toolkit((?:\s+[A-Za-z][\w-]*)?)")
MODULE = re.compile(r"(?:^|[\s|;&(])python3?\s+-m\s+([\w.]+)")
MAKE = re.compile(r"(?:^|[\s|;&(])make\s+((?:[a-z][\w-]*\s*)+)")


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M)}


def links(path: Path) -> list[str]:
    """The link targets of a Markdown file, code blocks and inline code left out."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return LINK.findall(INLINE.sub("", text))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    assert doc.is_file(), f"{doc.relative_to(ROOT)} is missing"
    bad = []
    for target in links(doc):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (doc.parent / file).resolve() if file else doc
        if not dest.is_relative_to(ROOT):
            bad.append(f"{target}: outside the repository")
        elif not dest.exists():
            bad.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert not bad, f"{doc.relative_to(ROOT)}: " + "; ".join(bad)


def test_readme_names_no_path_outside_the_repository():
    text = README.read_text(encoding="utf-8")
    assert "../" not in text, "README.md names a path outside the repository"


def readme_code() -> tuple[list[str], list[str]]:
    """``(fenced lines, inline spans)`` of README.md, shell comments cut off the fenced lines."""
    text = README.read_text(encoding="utf-8")
    fenced = [line.split(" #")[0] for block in FENCE.findall(text) for line in block.splitlines()]
    inline = INLINE.findall(FENCE.sub("", text))
    return fenced, inline


def readme_commands() -> list[tuple[str, ...]]:
    """Each distinct command README's code names, as the argv that prints its help."""
    fenced, inline = readme_code()
    found: dict[tuple[str, ...], None] = {}
    for line in [*fenced, *inline]:
        for sub in FER.findall(line):
            found[("fer-toolkit", *sub.split())] = None
        for module in MODULE.findall(line):
            found[("python", "-m", module)] = None
    return list(found)


COMMANDS = readme_commands()


def argv(command: tuple[str, ...]) -> list[str]:
    """The argv that runs ``command --help`` with this interpreter and its installed ``fer-toolkit`` script."""
    if command[0] == "fer-toolkit":
        script = Path(sys.executable).parent / "fer-toolkit"
        head = [str(script)] if script.is_file() else [sys.executable, "-m", "fer_toolkit"]
        return [*head, *command[1:], "--help"]
    return [sys.executable, *command[1:], "--help"]


def test_readme_shows_the_main_commands():
    """The parser above finds what README is about (a guard against a regex that finds nothing)."""
    names = {" ".join(c) for c in COMMANDS}
    for expected in ("fer-toolkit predict", "fer-toolkit score", "fer-toolkit submit", "fer-toolkit evaluate-photos",
                     "fer-toolkit train", "fer-toolkit export", "fer-toolkit demo"):
        assert expected in names, f"README's code no longer shows {expected}"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_readme_command_runs_with_help(command):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    r = subprocess.run(argv(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{' '.join(command)} --help exited {r.returncode}: {(r.stderr or r.stdout)[-500:]}"
    assert "usage" in (r.stdout + r.stderr).lower(), f"{' '.join(command)} --help printed no usage"


def test_readme_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    fenced, _ = readme_code()
    named = {t for line in fenced for group in MAKE.findall(line) for t in group.split()}
    missing = sorted(named - targets)
    assert named and not missing, f"README runs make targets the Makefile lacks: {missing}"
