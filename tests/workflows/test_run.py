"""End to end: `omnibalance run` writes every output; bad input fails cleanly."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from sim.kernel.actors import Stance
from sim.workflows.fit import load_targets
from tests.conftest import HISTORY, ROOT, assert_same_runs, history_text_anywhere


def omnibalance(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def replay(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "history"
    proc = omnibalance("run", str(HISTORY), "--replicates", "40", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def test_replay_writes_every_output(replay):
    names = {p.name for p in replay.iterdir()}
    assert {"trajectories.parquet", "summary.csv", "fit.json", "manifest.json", "alignment.png"} <= names
    assert not any(n.startswith(".") for n in names)


def test_trajectories_schema_and_size(replay):
    t = pq.read_table(replay / "trajectories.parquet")
    assert t.num_rows == 40 * 101 * 5
    for col in [
        "replicate",
        "seed",
        "step",
        "date",
        "year",
        "actor",
        "stance",
        "p_RUS",
        "p_WEST",
        "p_CHN",
        "p_NONALIGNED",
        "csto_member",
        "alliance_status",
    ]:
        assert col in t.column_names
    for p in ("RUS", "WEST", "CHN"):
        for kind in ("military", "political", "economic"):
            assert f"{kind}_{p}" in t.column_names
    d = t.slice(0, 5).to_pylist()
    assert [r["actor"] for r in d] == ["UZB", "KAZ", "KGZ", "TJK", "TKM"]
    assert str(d[0]["date"]) == "1991-10-01"
    status = set(t.column("alliance_status").to_pylist())
    assert status <= {"true", "paper", "none"}
    probs = sum(t.column(f"p_{s}").to_numpy() for s in ("RUS", "WEST", "CHN", "NONALIGNED"))
    assert abs(probs - 1).max() < 1e-9


def test_summary_and_fit(replay):
    lines = (replay / "summary.csv").read_text().splitlines()
    assert lines[0] == "actor,year,share_RUS,share_WEST,share_CHN,share_NONALIGNED,modal_stance"
    assert len(lines) == 1 + 5 * 26
    fit = json.loads((replay / "fit.json").read_text())
    assert set(fit["hit_rate"]) == {"UZB", "KAZ"}  # KGZ, TJK, TKM are out of sample
    # the hit rate is that of summary.csv's modal stances on the scored years (whatever the parameters)
    targets = load_targets()
    modal = {(r["actor"], int(r["year"])): r["modal_stance"] for r in csv.DictReader((replay / "summary.csv").open())}
    for actor in ("UZB", "KAZ"):
        scored = [(y, span) for y in range(1991, 2017) if (span := targets.accepted(actor, y)) is not None and span.scored]
        hits = sum(Stance[modal[(actor, y)]] in span.accepted for y, span in scored)
        assert fit["years"][actor]["scored"] == len(scored) and fit["years"][actor]["hits"] == hits
        assert fit["hit_rate"][actor] == pytest.approx(hits / len(scored))
    assert len(fit["events"]) == 5
    assert all(0 <= e["share_within_1y"] <= 1 for e in fit["events"])
    # the dated acts, each with its window, at quarterly resolution
    assert [a["date"] for a in fit["acts"]] == [a.date.isoformat() for a in targets.acts]
    for a in fit["acts"]:
        assert 0 <= a["share_on_time"] <= a["share_made"] <= 1
        assert all(re.fullmatch(r"\d{4}Q[1-4]", q) for q in a["window"]) and a["window"][0] <= a["window"][1]
        assert a["modal_quarter"] is None or re.fullmatch(r"\d{4}Q[1-4]", a["modal_quarter"])
    assert fit["replicates"] == 40
    # stance switches per run, from the trajectories
    t = pq.read_table(replay / "trajectories.parquet", columns=["replicate", "step", "actor", "stance"]).to_pylist()
    path: dict[tuple[int, str], dict[int, str]] = {}
    for r in t:
        path.setdefault((r["replicate"], r["actor"]), {})[r["step"]] = r["stance"]
    for actor in ("UZB", "KAZ", "TKM"):
        switches = [sum(p[i] != p[i - 1] for i in range(1, 101)) for (_, a), p in path.items() if a == actor]
        assert fit["switches_per_run"][actor] == pytest.approx(np.mean(switches))
    manifest = json.loads((replay / "manifest.json").read_text())
    for key in ("scenario_sha256", "parameters", "root_seed", "package_version", "git_commit", "started", "finished"):
        assert key in manifest
    assert set(manifest["parameters"]) >= {"hostility", "exposure", "noise_sd", "tie_weight", "self_reliance"}


def test_engines_write_identical_trajectories(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out, engine in ((a, "ensemble"), (b, "mesa")):
        proc = omnibalance(
            "run", str(HISTORY), "-n", "3", "--engine", engine, "--out", str(out), "--quiet", "--no-plot"
        )
        assert proc.returncode == 0, proc.stderr
    assert_same_runs(pq.read_table(a / "trajectories.parquet"), pq.read_table(b / "trajectories.parquet"))
    assert (a / "summary.csv").read_text() == (b / "summary.csv").read_text()


def test_existing_output_folder_is_not_touched(tmp_path):
    out = tmp_path / "keep"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    proc = omnibalance("run", str(HISTORY), "-n", "2", "--out", str(out), "--quiet")
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert [p.name for p in out.iterdir()] == ["precious.txt"]
    assert (out / "precious.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda s: s.replace("rule: omnibalancing", "rule: [omnibalancing"), "YAML syntax error"),
        (lambda s: s.replace("  KGZ:\n", "  KGX:\n", 1), "unknown actor 'KGX'"),
        (lambda s: s.replace("date: 2005-05-13", "date: 1985-05-13"), "outside the run"),
        (
            lambda s: s.replace(
                "effects: {unrest: 1.0, repression: 1.0}", "effects: {unrest: 1.0, repression: 1.0}\n    magnitude: -2"
            ),
            "magnitude",
        ),
        (lambda s: s.replace("file: data/brent_annual_eia.csv", "file: data/nope.csv"), "driver file not found"),
        (lambda s: s.replace("seed: 20050513", "seed: 20050513\nbogus: 1"), "unknown field 'bogus'"),
        (lambda s: s.replace('effects: {leader_change: 1}\n    source: "Medvedev', 'effects: {leader_change: 2}\n    source: "Medvedev'), "no size of its own"),
    ],
)
def test_bad_scenario_fails_cleanly(tmp_path, edit, needle):
    text = history_text_anywhere()
    bad = tmp_path / "bad.yaml"
    bad.write_text(edit(text))
    (tmp_path / "data").symlink_to(HISTORY.parent / "data")
    out = tmp_path / "out"
    proc = omnibalance("run", str(bad), "-n", "2", "--out", str(out), "--quiet")
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "bad.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_bad_set_path_fails_cleanly(tmp_path):
    proc = omnibalance("run", str(HISTORY), "-n", "2", "--set", "params.nope=1", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "params.nope" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate(tmp_path):
    proc = omnibalance("validate", str(HISTORY))
    assert proc.returncode == 0
    assert "ok" in proc.stdout


@pytest.mark.parametrize(
    ("make", "out", "says"),
    [
        (lambda t: (t / "FILE").write_text("x"), "FILE", "is a file, not a folder"),
        (lambda t: (t / "FILE").write_text("x"), "FILE/sub", "cannot be created, "),
        (lambda t: None, "/proc/omnibalance-test/x", "cannot be created"),
    ],
    ids=["out-is-a-file", "parent-is-a-file", "cannot-create"],
)
def test_bad_out_is_named_as_such_before_any_work(tmp_path, make, out, says):
    make(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    target = out if out.startswith("/") else str(tmp_path / out)
    proc = subprocess.run([sys.executable, "-m", "sim", "run", str(HISTORY), "-n", "2", "--out", target, "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert f"--out {target}" in proc.stderr and says in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing written or changed
    assert not list(tmp_path.glob(".*partial"))


def test_replicates_beyond_memory_are_refused_before_allocating():
    proc = omnibalance("run", str(HISTORY), "--replicates", "1000000000000", "--quiet")
    assert proc.returncode == 2
    assert "1,000,000,000,000 replicates needs about" in proc.stderr and "GiB available" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_output_folder_gets_the_users_umask(tmp_path):
    out = tmp_path / "shared"
    proc = subprocess.run([sys.executable, "-c", f"import os, sys; os.umask(0o022); sys.argv = ['omnibalance', 'run', {str(HISTORY)!r}, '-n', '2', "
                           f"'--out', {str(out)!r}, '--quiet', '--no-plot']; from sim.face.cli import main; sys.exit(main())"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_mode & 0o777 == 0o755  # group and others can read and enter it, as the umask says


def test_validate_resolve_does_not_overwrite_a_file(tmp_path):
    target = tmp_path / "mine.yaml"
    target.write_text("precious\n")
    proc = omnibalance("validate", "--resolve", str(HISTORY), "--out", str(target))
    assert proc.returncode == 2 and f"--out {target}: exists" in proc.stderr and "Traceback" not in proc.stderr
    assert target.read_text() == "precious\n"


def test_analyze_on_a_run_folder_says_what_it_is(replay):
    proc = omnibalance("analyze", str(replay))
    assert proc.returncode == 2
    assert "an `omnibalance run` folder, not a sweep folder" in proc.stderr and "Traceback" not in proc.stderr


def test_dashboard_refuses_a_scenario_that_does_not_validate(tmp_path):
    bad = tmp_path / "dup.yaml"
    bad.write_text(f"extends: {HISTORY}\nname: a\nname: b\n")
    proc = omnibalance("dashboard", "--scenario", str(bad), "--port", "0")
    assert proc.returncode == 2
    assert f"{bad}:3: duplicate key 'name'" in proc.stderr and "Traceback" not in proc.stderr


LONG_COMMANDS = {
    # command, and what shows that its work runs (a glob under the test folder, or seconds to wait)
    "run": (["run", str(HISTORY), "-n", "200000", "--quiet"], ".out.*.partial"),
    "compare": (["compare", str(HISTORY), str(ROOT / "scenarios" / "counterfactuals" / "no_andijan.yaml"), "-n", "100000", "--quiet"], 6.0),
    "calibrate": (["calibrate", str(ROOT / "calibration" / "spec.yaml"), "--method", "polish", "--executor", "serial", "--quiet"],
                  ".out.*.partial/polish_trace.json"),
    # (its first refit has scored a point: past numba's one-off compile, during which llvmlite swallows a Ctrl-C)
    "validate-model": (["validate-model", "--workers", "1", "--quiet"], ".out.*.partial/ablations/*/polish_trace.json"),
}


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_and_wait(tmp_path, name):
    import time

    command, started = LONG_COMMANDS[name]
    # Ctrl-C as at a terminal: a test run started in the background of a non-interactive shell
    # inherits an ignored SIGINT, which the command (rightly) leaves ignored.
    proc = subprocess.Popen([sys.executable, "-m", "sim", *command, "--out", str(tmp_path / "out")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + (started if isinstance(started, float) else 120)
    # Wait until the work itself runs (for calibrate: its first evaluation is written), not merely until
    # the temporary folder exists: a signal that lands inside a library's import can be swallowed there.
    while (isinstance(started, float) or not list(tmp_path.glob(started))) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    time.sleep(0.5)
    return proc


@pytest.mark.parametrize("name", list(LONG_COMMANDS))
@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_an_interrupt_leaves_nothing_under_the_final_name(tmp_path, name, signum):
    import signal

    proc = _start_and_wait(tmp_path, name)
    proc.send_signal(getattr(signal, signum))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, -signal.SIGINT), err  # a shell reports either as 130
    assert "interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() and not list(tmp_path.iterdir())  # no partial output under any name


@pytest.mark.parametrize("name", list(LONG_COMMANDS))
def test_a_killed_command_leaves_its_final_name_free(tmp_path, name):
    """SIGKILL cannot be cleaned up after: a hidden temporary folder may stay, but the final name is
    never written, so the same --out is free for the rerun."""
    import signal

    proc = _start_and_wait(tmp_path, name)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert not (tmp_path / "out").exists()
    assert all(p.name.startswith(".out.") and p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_a_killed_run_can_be_run_again(tmp_path):
    import signal

    proc = _start_and_wait(tmp_path, "run")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    again = omnibalance("run", str(HISTORY), "-n", "5", "--quiet", "--no-plot", "--out", str(tmp_path / "out"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out" / "fit.json").is_file()


def test_an_interrupt_a_library_swallows_still_leaves_nothing(tmp_path, monkeypatch):
    """A library that catches the KeyboardInterrupt of a Ctrl-C cannot make the command write its output."""
    import contextlib

    from sim.workflows import interrupts
    from sim.workflows.outputs import atomic_folder

    monkeypatch.setattr(interrupts, "_requested", False)
    with pytest.raises(KeyboardInterrupt), atomic_folder(tmp_path / "out") as folder:
        (folder / "half.csv").write_text("a\n")
        with contextlib.suppress(KeyboardInterrupt):  # a library that swallows what Ctrl-C raises in it
            interrupts._handler(2, None)
        assert interrupts.requested()
    assert not list(tmp_path.iterdir())


def test_an_interrupt_inside_a_library_import_is_an_interrupt(monkeypatch, capsys):
    """A Ctrl-C that lands while a compiled library initialises surfaces as ImportError ('initialization
    failed', caused by KeyboardInterrupt): it is reported as an interruption; a real ImportError is not."""
    from sim.face import cli

    def interrupted_import(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc

    monkeypatch.setattr(cli, "_cmd_run", interrupted_import)
    assert cli.main(["run", str(HISTORY)]) == 130
    assert capsys.readouterr().err.startswith("interrupted:")

    def missing(args):
        raise ImportError("No module named 'nothing'")

    monkeypatch.setattr(cli, "_cmd_run", missing)
    with pytest.raises(ImportError, match="nothing"):
        cli.main(["run", str(HISTORY)])
