"""Validation at the door: every option of ``musegen`` is checked by its argparse ``type=``.

A value no run can use exits 2 with argparse's own error in one line
(``musegen generate: error: argument --bars: ...``) before any file is read and
before TensorFlow starts; `Recipe` refuses the same values for library users,
naming the field. Issue 35, item 8.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musegen.cli import main
from musegen.events import Event, Piece
from musegen.io.writing import write_midi
from musegen.training.recipe import Recipe, RecipeError


@pytest.fixture
def songs(tmp_path: Path) -> Path:
    """A folder of three short songs: a corpus that `train` would read."""
    folder = tmp_path / "songs"
    folder.mkdir()
    for i in range(3):
        notes = tuple(Event(j, 1, (60 + (i + j) % 12,)) for j in range(16))
        write_midi(Piece(notes), folder / f"song{i}.mid")
    return folder


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test where a command gets as far as its run: reading a bundle, a file, a corpus."""

    def reached(what: str):
        def fail(*args, **kwargs):
            raise AssertionError(f"the command {what} before the option was refused")

        return fail

    import musegen.cli.evaluate
    import musegen.cli.generate
    import musegen.cli.infill
    import musegen.cli.tokenize
    import musegen.cli.train

    monkeypatch.setattr(musegen.cli.generate, "bundle_dir", reached("looked for the bundle"))
    monkeypatch.setattr(musegen.cli.infill, "bundle_dir", reached("looked for the bundle"))
    monkeypatch.setattr(musegen.cli.train, "load", reached("read the corpus"))
    monkeypatch.setattr(musegen.cli.train, "load_scores", reached("read the corpus"))
    monkeypatch.setattr(musegen.cli.tokenize, "load", reached("read the corpus"))
    monkeypatch.setattr(musegen.cli.evaluate, "midi_files", reached("read the files"))


def _refused(argv: list[str], option: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run `argv`: it must exit 2 with argparse's one line naming `option`; returns the line."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"musegen {argv[0]}: error: argument {option}: "), err
    assert "Traceback" not in err
    return lines[0]


GENERATE_BAD = [
    (["--bars", "inf"], "--bars"),
    (["--bars", "1e308"], "--bars"),
    (["--quarters", "nan"], "--quarters"),
    (["--steps", "100000000000"], "--steps"),
    (["--num", "100000000"], "--num"),
    (["--beam", "100000000"], "--beam"),
    (["--beam", "0"], "--beam"),
    (["--tempo", "0.5"], "--tempo"),
    (["--time-signature", "4/3"], "--time-signature"),
    (["--time-signature", "300/4"], "--time-signature"),
    (["--key-strength", "nan"], "--key-strength"),
    (["--key-strength", "inf"], "--key-strength"),
    (["--key-strength", "1e308"], "--key-strength"),
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**32)], "--seed"),
    (["--views", "200"], "--views"),
    (["--views", "-1"], "--views"),
    (["--density", "inf"], "--density"),
    (["--density", "1e308"], "--density"),
    (["--density", "2", "--density-strength", "1e308"], "--density-strength"),
    (["--chords", "C G", "--chord-strength", "inf"], "--chord-strength"),
    (["--chords", "C G", "--chord-strength", "1e308"], "--chord-strength"),
    (["--chords", "Am Hx"], "--chords"),
    (["--key", "H major"], "--key"),
    (["--pitch-range", "C3"], "--pitch-range"),
    (["--temperature", "1e-308"], "--temperature"),
    (["--temperature", "nan"], "--temperature"),
    (["--p", "2"], "--p"),
    (["--k", "0"], "--k"),
    (["--repetition-penalty", "0.5"], "--repetition-penalty"),
    (["--penalty-window", "0"], "--penalty-window"),
    (["--no-repeat-ngram", "0"], "--no-repeat-ngram"),
]


@pytest.mark.parametrize(
    ("bad", "option"), GENERATE_BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_generate_refuses_a_value_no_run_can_use_at_the_door(
    bad, option, tmp_path, no_run, capsys
) -> None:
    _refused(["generate", "musegen:folk", *bad, "--out", str(tmp_path / "x.mid")], option, capsys)


def test_generate_refuses_an_existing_folder_as_out(tmp_path, no_run, capsys) -> None:
    """It used to generate, then end in IsADirectoryError's traceback when writing."""
    line = _refused(["generate", "musegen:folk", "--bars", "1", "--out", str(tmp_path)], "--out",
                    capsys)  # fmt: skip
    assert "is a folder" in line


TRAIN_BAD = [
    (["--units", "0"], "--units"),
    (["--units", "128", "-1"], "--units"),
    (["--seq-len", "0"], "--seq-len"),
    (["--batch-size", "0"], "--batch-size"),
    (["--transpose", "3", "-3"], "--transpose"),
    (["--transpose", "0", "200"], "--transpose"),
    (["--min-count", "0"], "--min-count"),
    (["--learning-rate", "-1"], "--learning-rate"),
    (["--learning-rate", "nan"], "--learning-rate"),
    (["--learning-rate", "inf"], "--learning-rate"),
    (["--views", "200"], "--views"),
    (["--limit", "-1"], "--limit"),
    (["--workers", "0"], "--workers"),
    (["--seed", "-1"], "--seed"),
    (["--minutes", "nan"], "--minutes"),
    (["--minutes", "-1"], "--minutes"),
    (["--epochs", "0"], "--epochs"),
    (["--local-workers", "0"], "--local-workers"),
]


@pytest.mark.parametrize(
    ("bad", "option"), TRAIN_BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_train_refuses_a_value_no_run_can_use_before_reading_the_corpus(
    bad, option, songs, tmp_path, no_run, capsys
) -> None:
    _refused(["train", str(songs), *bad, "--out", str(tmp_path / "run")], option, capsys)


def test_train_refuses_a_file_as_its_run_directory(songs, tmp_path, no_run, capsys) -> None:
    file = tmp_path / "run.txt"
    file.write_text("not a folder")
    assert "is a file" in _refused(["train", str(songs), "--out", str(file)], "--out", capsys)


INFILL_BAD = [
    (["--seed", "-1"], "--seed"),
    (["--candidates", "0"], "--candidates"),
    (["--bars", "12:9"], "--bars"),
    (["--bars", "x"], "--bars"),
    (["--key", "H major"], "--key"),
    (["--chords", "Am Hx"], "--chords"),
]


@pytest.mark.parametrize(
    ("bad", "option"), INFILL_BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_infill_refuses_a_value_no_run_can_use_at_the_door(
    bad, option, songs, tmp_path, no_run, capsys
) -> None:
    argv = ["infill", "musegen:folk", str(songs / "song0.mid"), "--bars", "2:3", *bad,
            "--out", str(tmp_path / "filled.mid")]  # fmt: skip
    _refused(argv, option, capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["tokenize", "SONGS", "--limit", "-1"],
        ["tokenize", "SONGS", "--workers", "0"],
        ["evaluate", "SONGS", "--reference", "SONGS", "--limit", "-1"],
        ["render", "SONGS", "--soundfont", "SONGS/none.sf2"],
    ],
    ids=lambda argv: " ".join(argv[:1] + argv[-2:]),
)
def test_the_other_commands_refuse_at_the_door(argv, songs, no_run, capsys) -> None:
    argv = [a.replace("SONGS", str(songs)) for a in argv]
    _refused(argv, argv[-2], capsys)


# -- the library: Recipe answers as the command does --------------------------------------------

RECIPE_BAD = [
    ("seq_len", 0),
    ("units", (0,)),
    ("units", ()),
    ("batch_size", 0),
    ("learning_rate", -1.0),
    ("learning_rate", math.nan),
    ("learning_rate", math.inf),
    ("transpose", (3, -3)),
    ("transpose", (0, 200)),
    ("views", 200),
    ("min_count", 0),
    ("seed", -1),
    ("seed", 2**32),
    ("minutes", math.nan),
    ("minutes", -1.0),
    ("minutes", math.inf),
    ("epochs", 0),
]


@pytest.mark.parametrize(("name", "value"), RECIPE_BAD, ids=lambda v: str(v))
def test_recipe_refuses_what_the_command_refuses_naming_the_field(name, value) -> None:
    with pytest.raises(RecipeError, match="--" + name.replace("_", "-")):
        Recipe(**{name: value})


# -- the property: any value is accepted, or refused by argparse in one line --------------------

INTS = st.one_of(
    st.sampled_from([0, -1, 1, 2, 3, 11, 12, 200, 255, 256, 2**31, 2**32 - 1, 2**32, 2**63]),
    st.integers(-(10**20), 10**20),
).map(str)
FLOATS = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "-0.0", "0", "1e308", "-1e308", "1e-308", "0.5", "1"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
TEXTS = st.one_of(
    st.sampled_from(["", " ", "4/3", "300/4", "3/4", "3+2/8", "C major", "Bb minor", "H major",
                     "Am F C G", "Bb7:2 F7:2", "C3:C6", "9:12", "12:9", "é", "♭", "\x00", "-1",
                     "musegen:folk", "--out", "root", "bass", "top_k", "argmax", "best", "notes",
                     "first"]),
    st.text(max_size=12),
)  # fmt: skip
VALUES = st.one_of(INTS, FLOATS, TEXTS)


def _options(command: str) -> list[argparse.Action]:
    """The options of `command` that take a value."""
    from musegen.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [
        action
        for action in sub.choices[command]._actions
        if action.option_strings
        and action.nargs != 0
        and not isinstance(action, argparse._HelpAction)
    ]


def _parse(argv: list[str]) -> tuple[int, str, argparse.Namespace | None]:
    """(0, '', args) when `argv` parses, else (status, stderr, None); nothing else may escape."""
    from musegen.cli import build_parser

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            return 0, "", build_parser().parse_args(argv)
        except SystemExit as exit_:
            return int(exit_.code or 0), err.getvalue(), None


def _values(action: argparse.Action) -> st.SearchStrategy[list[str]]:
    if action.nargs == "+":
        return st.lists(VALUES, min_size=1, max_size=3)
    if isinstance(action.nargs, int):
        return st.lists(VALUES, min_size=action.nargs, max_size=action.nargs)
    return VALUES.map(lambda value: [value])


NEEDS = {
    "--density-strength": ["--density", "1"],
    "--chord-strength": ["--chords", "C G"],
    "--chord-lowest": ["--chords", "C G"],
    "--k": ["--sampler", "top_k"],
    "--p": ["--sampler", "top_p"],
    "--penalty-window": ["--repetition-penalty", "2"],
}
"""What an option steers, given beside it so that the run's own checks reach it."""


def _usable(command: str, args: argparse.Namespace) -> None:
    """Raise where the run would refuse what the parser took (the same values, checked again)."""
    if command == "train":  # what the parser takes, the library takes
        from dataclasses import fields

        options = {f.name: getattr(args, f.name) for f in fields(Recipe)}
        moves = {"transpose": tuple(args.transpose)} if args.transpose is not None else {}
        Recipe(**{**options, "units": tuple(args.units), **moves})
        return
    from musegen.cli import _steering
    from musegen.cli.generate import _check, _sampler
    from musegen.generation import samplers
    from musegen.generation.processors import KeyConstraint

    _check(args)
    _steering.processors(args)
    if args.key is not None:
        KeyConstraint(args.key)
    samplers.get(_sampler(args, None))
    for name, option in (("top_k", "k"), ("top_p", "p")):
        if getattr(args, option) is not None:
            samplers.get({"name": name, option: getattr(args, option)})


SEEN: dict[str, dict[str, int]] = {}


@pytest.mark.parametrize("command", ["generate", "train"])
def test_any_value_of_any_option_parses_or_exits_2_in_one_line(command, tmp_path) -> None:
    """Random values for every option: argparse takes them (and the run can use them), or
    refuses them with status 2 in one line; never a traceback."""
    head = {"generate": ["musegen:folk", "--out", str(tmp_path / "x.mid")],
            "train": ["music21:bach", "--out", str(tmp_path / "run")]}[command]  # fmt: skip
    actions = _options(command)
    seen = SEEN.setdefault(command, {"accepted": 0, "refused": 0})
    start = time.perf_counter()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)  # fmt: skip
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        action = data.draw(st.sampled_from(actions), label="option")
        values = data.draw(_values(action), label="values")
        option = action.option_strings[-1]
        given = [f"{option}={values[0]}"] if len(values) == 1 else [option, *values]
        argv = [command, *head, *NEEDS.get(option, []), *given]
        code, err, args = _parse(argv)
        if args is None:
            lines = err.strip().splitlines()
            assert code == 2 and len(lines) == 1, (argv, err)
            # the subcommand's error, or the top parser's (e.g. unrecognized arguments)
            assert lines[0].startswith((f"musegen {command}: error: ", "musegen: error: ")), (
                argv, err,
            )  # fmt: skip
            seen["refused"] += 1
        else:
            _usable(command, args)
            seen["accepted"] += 1

    check()
    seconds = time.perf_counter() - start
    print(f"\n{command}: {len(actions)} options, {seen} in {seconds:.1f} s")
    assert seen["accepted"] and seen["refused"]


EXAMPLES = 1500
"""Examples per command (about 10 s each on one core)."""


# -- end to end: the installed command ------------------------------------------------------


def _musegen(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "musegen.cli", *argv], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["generate", "musegen:folk", "--bars", "inf"], "argument --bars: "),
        (["generate", "musegen:folk", "--seed", "-1"], "argument --seed: "),
        (["train", "SONGS", "--units", "0", "--out", "RUN"], "argument --units: "),
        (["train", "SONGS", "--transpose", "3", "-3", "--out", "RUN"], "argument --transpose: "),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_the_real_command_refuses_in_one_line(argv, said, songs, tmp_path) -> None:
    argv = [a.replace("SONGS", str(songs)).replace("RUN", str(tmp_path / "run")) for a in argv]
    result = _musegen(*argv)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], result.stderr
    assert not (tmp_path / "run").exists()


def test_refusing_starts_no_tensorflow(songs, tmp_path) -> None:
    """Each refusal above, in a fresh interpreter: neither TensorFlow nor Keras was imported."""
    argvs = [
        ["generate", "musegen:folk", "--bars", "inf"],
        ["generate", "musegen:folk", "--chords", "Am Hx"],
        ["infill", "musegen:folk", str(songs / "song0.mid"), "--bars", "9:2", "--out", "x.mid"],
        ["train", str(songs), "--learning-rate", "-1", "--out", str(tmp_path / "run")],
    ]
    script = (
        "import sys\nfrom musegen.cli import main\n"
        f"for argv in {argvs!r}:\n"
        "    try:\n        main(argv)\n    except SystemExit as exit_:\n"
        "        print(exit_.code, 'tensorflow' in sys.modules or 'keras' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.stdout.split() == ["2", "False"] * len(argvs), result.stderr


def test_the_real_command_takes_the_largest_seed(tmp_path) -> None:
    out = tmp_path / "x.mid"
    result = _musegen("generate", "musegen:folk", "--bars", "1", "--seed", str(2**32 - 1),
                      "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.is_file()


# -- issue 35, review b: what the door told nobody ---------------------------------------


@pytest.mark.parametrize(("out", "said"), [("-", ".mid"), ("x.wav", "--wav"), ("song", ".mid")])
def test_generate_out_is_a_midi_file_name(out, said, tmp_path, no_run, capsys, monkeypatch):
    """``--out -`` wrote a MIDI file named ``-``; ``--out x.wav`` wrote MIDI bytes into x.wav."""
    monkeypatch.chdir(tmp_path)
    line = _refused(["generate", "musegen:folk", "--bars", "1", "--out", out], "--out", capsys)
    assert said in line
    assert not list(tmp_path.iterdir())


def test_infill_out_is_a_midi_file_name_too(songs, tmp_path, no_run, capsys) -> None:
    argv = ["infill", "musegen:folk", str(songs / "song0.mid"), "--bars", "1:2"]
    line = _refused([*argv, "--out", str(tmp_path / "x.wav")], "--out", capsys)
    assert ".mid" in line


def test_a_tempo_or_metre_in_other_words_says_how_to_write_it(tmp_path, no_run, capsys) -> None:
    out = ["--out", str(tmp_path / "x.mid")]
    line = _refused(["generate", "musegen:folk", "--tempo", "120bpm", *out], "--tempo", capsys)
    assert "quarter notes per minute" in line and "bpm bpm" not in line
    line = _refused(["generate", "musegen:folk", "--time-signature", "C", *out],
                    "--time-signature", capsys)  # fmt: skip
    assert "4/4" in line and "2/2" in line


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--sampler", "top_p", "--k", "5"], "--k is an option of --sampler top_k"),
        (["--sampler", "argmax", "--p", "0.5"], "--p is an option of --sampler top_p"),
        (["--penalty-window", "4"], "--penalty-window"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_an_option_that_cannot_act_is_refused_before_the_bundle(argv, said, tmp_path, no_run,
                                                                capsys) -> None:  # fmt: skip
    """``--k 5`` with top_p, ``--penalty-window`` without a penalty: dropped without a word."""
    assert main(["generate", "musegen:folk", *argv, "--out", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err


def test_magenta_spellings_are_aliases_of_generate_options(tmp_path) -> None:
    """A Magenta user's --qpm, --num_outputs and --primer_midi mean --tempo, --num and --prime."""
    from musegen.cli import build_parser

    prime = tmp_path / "prime.mid"
    prime.write_bytes(b"MThd")  # only its existence is checked while parsing
    magenta = build_parser().parse_args(
        [
            "generate",
            "musegen:folk",
            "--qpm",
            "96",
            "--num_outputs",
            "3",
            "--primer_midi",
            str(prime),
        ]
    )
    ours = build_parser().parse_args(
        ["generate", "musegen:folk", "--tempo", "96", "--num", "3", "--prime", str(prime)]
    )
    assert (magenta.tempo, magenta.num, magenta.prime) == (ours.tempo, ours.num, ours.prime)
    assert (magenta.tempo, magenta.num) == (96.0, 3)


def test_bundles_lists_what_ships_with_a_command_that_plays_each(capsys) -> None:
    from musegen.cli import main
    from musegen.training.bundle import shipped_bundles

    assert main(["bundles"]) == 0
    out = capsys.readouterr().out
    for name in shipped_bundles():
        assert f"musegen generate musegen:{name} --bars 8" in out
    assert "the Bach chorales music21 ships" in out and "held-out NLL" in out
