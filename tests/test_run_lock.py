"""One writer per run directory: a second run is refused in one line, a killed run's lock taken over.

A lock is held from another process (one that takes it with `RunLock` and sleeps),
so that its process id is alive, then killed, so that it is not.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import musegen.training.run_lock as run_lock
from musegen.cli import main
from musegen.training.run_lock import RunLock, RunLockedError, is_chief_process

HOLD = """
import pathlib, sys, time
from musegen.training.run_lock import RunLock
with RunLock(sys.argv[1]):
    print("held", flush=True)
    end = time.monotonic() + 120
    while not pathlib.Path(sys.argv[2]).exists() and time.monotonic() < end:
        time.sleep(0.02)
"""


@pytest.fixture
def holder():
    """Start a process holding the lock of a run directory until ``<run>.end`` exists.

    It is killed after the test, if it still runs.
    """
    started: list[subprocess.Popen[str]] = []

    def hold(run: Path) -> subprocess.Popen[str]:
        end = run.with_name(f"{run.name}.end")
        child = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(run), str(end)], stdout=subprocess.PIPE, text=True
        )
        started.append(child)
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        return child

    yield hold
    for child in started:
        child.kill()
        child.wait()


def test_a_live_lock_refuses_in_one_line_then_a_dead_ones_is_taken_over(tmp_path, holder) -> None:
    run = tmp_path / "run"
    child = holder(run)
    record = json.loads((run / ".lock").read_text())
    assert record["pid"] == child.pid and record["host"] == socket.gethostname()
    with pytest.raises(RunLockedError) as refused:
        RunLock(run).acquire()
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{run} is in use by another run")
    assert f"pid {child.pid} on {record['host']} since {record['since']}" in message
    assert message.endswith(f"(if pid {child.pid} is not a musegen run, delete {run / '.lock'})")
    assert json.loads((run / ".lock").read_text()) == record  # untouched

    child.kill()  # as a killed run: its lock is left behind, its process is gone
    child.wait()
    lines: list[str] = []
    with RunLock(run, progress=lines.append) as lock:
        assert json.loads(lock.path.read_text())["pid"] != child.pid
        assert lines == [
            f"{run / '.lock'}: took over the lock of pid {child.pid} on {record['host']} "
            f"since {record['since']}, a run that ended without releasing it"
        ]
    assert not (run / ".lock").exists()


def test_a_lock_of_another_host_is_refused_naming_the_file_to_delete(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    record = {"pid": 1, "host": "elsewhere.example", "since": "2026-01-01T00:00:00+00:00"}
    (run / ".lock").write_text(json.dumps(record))
    with pytest.raises(RunLockedError) as refused:
        RunLock(run).acquire()
    assert str(refused.value) == (
        f"{run} is locked by pid 1 on elsewhere.example since 2026-01-01T00:00:00+00:00, "
        f"which cannot be checked from this host ({socket.gethostname()}); if that run has "
        f"ended, delete {run / '.lock'}"
    )
    assert json.loads((run / ".lock").read_text()) == record


def test_an_empty_lock_left_by_a_kill_while_creating_it_is_taken_over(tmp_path, monkeypatch):
    monkeypatch.setattr(run_lock, "_UNREADABLE_GRACE", 0.05)
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text("")
    lines: list[str] = []
    with RunLock(run, progress=lines.append):
        assert json.loads((run / ".lock").read_text())["pid"] > 0
    assert lines == [
        f"{run / '.lock'}: took over an empty lock, left by a run killed as it took it"
    ]


@pytest.mark.skipif(not Path("/proc/stat").is_file(), reason="process start times from /proc")
def test_a_lock_whose_pid_now_names_a_younger_process_is_taken_over(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"])  # its pid reused since the lock was written
    try:
        record = {"pid": sleeper.pid, "host": socket.gethostname(),
                  "since": "2020-01-01T00:00:00+00:00"}  # fmt: skip
        (run / ".lock").write_text(json.dumps(record))
        lines: list[str] = []
        with RunLock(run, progress=lines.append):
            assert json.loads((run / ".lock").read_text())["pid"] != sleeper.pid
        assert lines == [
            f"{run / '.lock'}: took over the lock of pid {sleeper.pid} on {socket.gethostname()} "
            "since 2020-01-01T00:00:00+00:00, a run that ended (that pid is now a process "
            "started later)"
        ]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_lock_is_released_however_the_block_ends(tmp_path) -> None:
    run = tmp_path / "run"
    for error in (ValueError("a bug"), KeyboardInterrupt()):
        with pytest.raises(type(error)), RunLock(run):
            assert (run / ".lock").is_file()
            raise error
        assert not (run / ".lock").exists()
    lock = RunLock(run).acquire()
    lock.release()
    lock.release()  # twice: nothing to do
    assert not (run / ".lock").exists() and not lock.held


def test_of_runs_starting_together_one_gets_the_lock(tmp_path) -> None:
    run = tmp_path / "run"
    racer = (
        "import sys, time\n"
        "from musegen.training.run_lock import RunLock, RunLockedError\n"
        "try:\n"
        "    with RunLock(sys.argv[1]):\n"
        "        print('held', flush=True); time.sleep(3)\n"
        "except RunLockedError:\n"
        "    print('refused', flush=True)\n"
    )
    racers = [
        subprocess.Popen([sys.executable, "-c", racer, str(run)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    said = sorted(child.communicate(timeout=60)[0].strip() for child in racers)
    assert said == ["held", "refused", "refused", "refused"]
    assert not (run / ".lock").exists()


@pytest.mark.parametrize(
    ("config", "chief"),
    [
        (None, True),
        ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}, True),
        ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}, False),
        ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "chief"}}, True),
        (
            {
                "cluster": {"chief": ["c:1"], "worker": ["a:1"]},
                "task": {"type": "worker", "index": 0},
            },
            False,
        ),
    ],
)
def test_only_the_chief_of_a_cluster_takes_the_lock(config, chief) -> None:
    environ = {"TF_CONFIG": json.dumps(config)} if config else {}
    assert is_chief_process(environ) is chief


TRAIN = ["train", "musegen:skuli", "--limit", "2", "--units", "4", "--seq-len", "16",
         "--epochs", "1", "--minutes", "0", "--quiet"]  # fmt: skip


def test_a_second_musegen_train_on_one_out_is_refused_and_writes_nothing(
    tmp_path, holder, capsys
) -> None:
    run = tmp_path / "run"
    child = holder(run)  # the first run, still training
    assert main([*TRAIN, "--out", str(run)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"musegen: {run} is in use by another run")
    assert f"pid {child.pid} on {socket.gethostname()} since " in err[0]
    assert sorted(p.name for p in run.iterdir()) == [".lock"]  # nothing read, nothing written

    (tmp_path / "run.end").touch()
    child.wait(timeout=60)  # the first run ends, releasing its lock
    assert main([*TRAIN, "--out", str(run)]) == 0
    names = sorted(p.name for p in run.iterdir())
    assert ".lock" not in names and "bundle" in names  # released at the end of the run


def test_musegen_train_releases_its_lock_when_it_fails(tmp_path, monkeypatch, capsys) -> None:
    import musegen.training.fitting

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    run = tmp_path / "run"
    monkeypatch.setattr(musegen.training.fitting, "fit", interrupted)
    assert main([*TRAIN, "--out", str(run)]) == 130  # "musegen: interrupted"
    assert not (run / ".lock").exists()
    (run / "backup").mkdir()  # another model's backup: TrainingError, one line, exit 1
    (run / "weight_shapes.json").write_text("[[1, 2]]")
    monkeypatch.undo()
    assert main([*TRAIN, "--out", str(run)]) == 1
    assert "holds the backup of an interrupted run" in capsys.readouterr().err
    assert not (run / ".lock").exists()
