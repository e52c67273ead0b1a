"""docs/first-hour.md, run top to bottom as a newcomer would, in a fresh virtual environment.

The page's own commands run in a copy of the checkout: the install line as written
(`python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]"`), then
every later ``bash`` block, every ``python`` block and every ``$ command`` of a
transcript, whose printed lines must be the page's. Two things differ from a
newcomer's hour, each to keep the test short: training gets a budget of seconds
(``--minutes 0.1``) and generation fewer steps; and the fresh environment sees
this one's installed packages through a ``.pth`` file, so its install resolves
them there and builds only musegen instead of downloading TensorFlow again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from music21 import corpus

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "first-hour.md"
COPIED_OUT = (
    ".git", ".venv", ".ci-venv", "site", "runs", "build", "dist", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "*.egg-info",
)  # fmt: skip
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(text: str) -> list[tuple[str, str]]:
    """The page's fenced blocks in order: (language, body)."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def shortened(line: str, own_music: str) -> str:
    """A page's command with a short budget: seconds of training, fewer steps, own music."""
    line = line.replace("path/to/midi", own_music)
    if line.startswith("musegen train"):
        line = re.sub(r" --minutes \S+", "", line) + " --minutes 0.1"
    return re.sub(r"--steps \d+", "--steps 120", line)


def transcript(body: str) -> list[tuple[str, list[str]]]:
    """A console block's ``$ command`` lines, each with the lines printed after it."""
    runs: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            runs.append((line[2:], []))
        elif runs:
            runs[-1][1].append(line)
    return runs


def test_the_page_still_has_every_step() -> None:
    commands = [b for lang, b in blocks(PAGE.read_text(encoding="utf-8")) if lang == "bash"]
    text = "\n".join(commands)
    for step in ("pip install", "musegen tokenize", "musegen train", "musegen generate",
                 "musegen evaluate"):  # fmt: skip
        assert step in text, f"docs/first-hour.md lost its {step!r} step"
    order = [text.index(s) for s in ("musegen train", "musegen generate", "musegen evaluate")]
    assert order == sorted(order), "the page trains before it generates and evaluates"


@pytest.mark.skipif(sys.platform == "win32", reason="the page's commands are for a POSIX shell")
def test_the_first_hour_runs_top_to_bottom_in_a_fresh_environment(tmp_path: Path) -> None:
    clone = tmp_path / "musegen"
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(*COPIED_OUT))
    own = tmp_path / "my-midi"  # "path/to/midi": six chorales of music21's corpus as MIDI files
    own.mkdir()
    for work in ("bwv66.6", "bwv10.7", "bwv11.6", "bwv13.6", "bwv14.5", "bwv16.6"):
        corpus.parse(f"bach/{work}").write("midi", fp=own / f"{work}.mid")
    # the fresh environment, its packages resolved from this one's (see the module's docstring)
    subprocess.run([sys.executable, "-m", "venv", str(clone / ".venv")], check=True)
    site = next((clone / ".venv" / "lib").glob("python*/site-packages"))
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_first_hour_borrowed.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env.update(
        PATH=os.pathsep.join(
            p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix)
        ),
        MPLBACKEND="Agg",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        TF_CPP_MIN_LOG_LEVEL="2",
    )

    def shell(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", f"set -e\n. .venv/bin/activate\n{script}"],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    page = blocks(PAGE.read_text(encoding="utf-8"))
    install, *later = [body for lang, body in page if lang == "bash"]
    done = shell(install.replace("pip install", "pip install -q"))
    assert done.returncode == 0, done.stdout + done.stderr
    where = shell('python -c "import musegen; print(musegen.__file__)"')
    assert where.stdout.strip() == str(clone / "musegen" / "__init__.py"), where.stderr
    for body in later:
        for line in body.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                ran = shell(shortened(line, str(own)))
                assert ran.returncode == 0, f"$ {line}\n{ran.stdout}{ran.stderr}"
    snippets = "\n".join(body for lang, body in page if lang == "python")
    ran = shell(f"python - <<'SNIPPETS'\n{snippets}\nSNIPPETS")
    assert ran.returncode == 0, f"{snippets}\n{ran.stdout}{ran.stderr}"
    for lang, body in page:
        for command, printed in transcript(body) if lang in ("", "console") else []:
            ran = shell(command)
            said = (ran.stdout + ran.stderr).splitlines()
            assert said == printed, f"$ {command}"
            assert ran.returncode != 0  # the page's transcripts show mistakes answered
