"""Sweeps: designs, identical results across executors and chunking, real Dask processes on
127.0.0.1, a killed worker, a killed sweep resumed, bad specs and an unreachable scheduler."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from sim.errors import OmnibalanceError, ScenarioError
from sim.workflows.sweep.analyze import analyze_sweep as analyze
from sim.workflows.sweep.execute import read_sweep, run_sweep
from sim.workflows.sweep.spec import load_sweep
from tests.conftest import HISTORY, ROOT

DASK = Path(sys.executable).parent / "dask"


def spec(tmp_path: Path, name: str = "spec.yaml", **changes) -> Path:
    data = {
        "scenario": str(HISTORY),
        "design": {"kind": "lhs", "points": 24, "seed": 3},
        "replicates": 3,
        "seed": 5,
        "dimensions": {"shocks.andijan.magnitude": {"range": [0.0, 2.0]}, "shocks.andijan.date": {"range": ["2004-01-01", "2007-12-31"]}, "params.tau": {"range": [0.0, 8.0]}},
    } | changes
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False).replace("'2004-01-01'", "2004-01-01").replace("'2007-12-31'", "2007-12-31"))
    return p


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=300, **kw)


@pytest.fixture(scope="module")
def serial_reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    out = d / "serial"
    run_sweep(spec(d), out, executor="serial", chunk_size=9, progress=False)
    return d, read_sweep(out)


@pytest.mark.parametrize(
    ("dims", "design", "needle", "field"),
    [
        ({"params.nope": {"range": [0, 1]}}, {"kind": "lhs", "points": 4}, "unknown path 'params.nope'", "dimensions.params.nope"),
        ({"shocks.nosuch.magnitude": {"range": [0, 1]}}, {"kind": "lhs", "points": 4}, "unknown path", "dimensions.shocks.nosuch.magnitude"),
        ({"params.tau": {"range": [3, 1]}}, {"kind": "lhs", "points": 4}, "empty or inverted", "dimensions.params.tau"),
        ({"params.tau": {"range": [0, 1]}}, {"kind": "grid"}, "needs 'steps'", "dimensions.params.tau"),
        ({"params.tau": {"values": [1, 2]}}, {"kind": "sobol", "points": 8}, "need ranges", "dimensions.params.tau"),
    ],
)
def test_bad_spec_fails_before_any_run(tmp_path, dims, design, needle, field):
    p = spec(tmp_path, dimensions=dims, design=design)
    with pytest.raises(ScenarioError) as exc:
        load_sweep(p)
    msg = str(exc.value)
    assert needle in msg and f"field '{field}'" in msg and "spec.yaml:" in msg


def test_grid_design_and_outputs(tmp_path):
    p = spec(tmp_path, design={"kind": "grid"}, dimensions={"params.tau": {"values": [1.0, 4.0]}, "shocks.andijan.magnitude": {"range": [0.0, 1.0], "steps": 3}})
    plan = load_sweep(p)
    assert len(plan.points) == 6 and plan.n_runs == 18
    run_sweep(p, tmp_path / "g", executor="serial", progress=False)
    t = read_sweep(tmp_path / "g")
    assert t.num_rows == 18 and t.column("run").to_pylist() == list(range(18))
    for col in ("x.params.tau", "seed", "share_UZB_RUS", "event_UZB_2005"):
        assert col in t.column_names
    shares = sum(t.column(f"share_UZB_{s}").to_numpy() for s in ("RUS", "WEST", "CHN", "NONALIGNED"))
    assert abs(shares - 1).max() < 1e-12


def test_results_identical_across_executors_and_chunking(tmp_path, serial_reference):
    d, ref = serial_reference
    run_sweep(spec(d), tmp_path / "local", executor="local", workers=2, chunk_size=6, progress=False)
    assert read_sweep(tmp_path / "local").equals(ref)
    run_sweep(spec(d), tmp_path / "one", executor="serial", chunk_size=1000, progress=False)
    assert read_sweep(tmp_path / "one").equals(ref)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1."""
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    time.sleep(2)
    workers = [subprocess.Popen([str(DASK), "worker", addr, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"], cwd=tmp_path,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    procs += workers
    from dask.distributed import Client

    deadline = time.time() + 60
    with Client(addr, timeout="20s") as c:
        while len(c.scheduler_info()["workers"]) < 2 and time.time() < deadline:
            time.sleep(0.5)
    yield addr, workers
    for p in procs:
        p.kill()
        p.wait(10)


def test_dask_cluster_matches_serial_and_survives_a_killed_worker(tmp_path, serial_reference, dask_cluster):
    d, ref = serial_reference
    addr, workers = dask_cluster
    out = tmp_path / "dask"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(spec(d)), "--executor", "dask", "--scheduler", addr, "--chunk-size", "3",
                             "--out", str(out), "-q"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "chunks").glob("chunk_*.parquet"))) < 2:
        time.sleep(0.05)
    workers[0].kill()  # a worker dies mid-sweep; its tasks are retried on the other
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert read_sweep(out).equals(ref)  # every run exactly once, identical numbers


def test_killed_sweep_resumes_to_the_same_result(tmp_path, serial_reference):
    d, ref = serial_reference
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(spec(d)), "--executor", "serial", "--chunk-size", "3", "--out", str(out), "-q"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "chunks").glob("chunk_*.parquet"))) < 3:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((out / "chunks").glob("chunk_*.parquet")))
    assert 0 < done < 24  # interrupted mid-way
    r = cli("sweep", str(spec(d)), "--executor", "serial", "--out", str(out), "--resume", "-q")
    assert r.returncode == 0, r.stderr
    t = read_sweep(out)
    assert t.num_rows == 72 and len(set(t.column("run").to_pylist())) == 72
    assert t.equals(ref)
    assert not list((out / "chunks").glob(".*.tmp"))  # no half-written file left behind


def test_unreachable_scheduler_fails_fast(tmp_path):
    t0 = time.time()
    r = cli("sweep", str(spec(tmp_path)), "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert "cannot reach the Dask scheduler" in r.stderr and "Traceback" not in r.stderr
    assert time.time() - t0 < 60


def test_analyze_sobol_and_method_mismatch(tmp_path):
    p = spec(tmp_path, design={"kind": "sobol", "points": 8, "seed": 1}, replicates=2,
             dimensions={"params.sovereignty_rus": {"range": [0.0, 0.6]}, "params.tau": {"range": [0.0, 8.0]}})
    run_sweep(p, tmp_path / "s", executor="serial", progress=False)
    r = analyze(tmp_path / "s")
    assert r["method"] == "sobol"
    st = [x for x in r["rows"] if x["outcome"] == "share_UZB_RUS" and x["index"] == "ST"]
    assert len(st) == 2
    assert (tmp_path / "s" / "sensitivity.png").exists() and (tmp_path / "s" / "sensitivity.csv").exists()
    with pytest.raises(OmnibalanceError, match="needs a morris design"):
        analyze(tmp_path / "s", "morris")
    assert pq.read_table(next((tmp_path / "s" / "chunks").glob("*.parquet"))).num_rows > 0


@pytest.mark.parametrize("kind", ["lhs", "sobol"])
def test_a_design_beyond_memory_is_refused_at_its_line(tmp_path, kind):
    p = tmp_path / "huge.yaml"
    p.write_text(f"scenario: {ROOT / 'scenarios' / 'history.yaml'}\nreplicates: 1\n"
                 f"design: {{kind: {kind}, points: 1000000000000, seed: 1}}\ndimensions:\n  params.tau: {{range: [0.0, 10.0]}}\n")
    proc = cli("sweep", str(p), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {p}:3: field 'design.points': a design of ") and "GiB available" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_ctrl_c_on_a_pooled_sweep_is_clean_and_says_how_to_finish(tmp_path):
    """Ctrl-C reaches the whole process group (the sweep and its pool's workers): one line, exit 130, no
    worker tracebacks or leaked-semaphore warnings, and the finished chunks kept for --resume."""
    path = spec(tmp_path, design={"kind": "lhs", "points": 20_000, "seed": 1}, replicates=5)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(path), "--executor", "local", "--workers", "2", "--out", str(out), "-q"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("chunks/chunk_*.parquet")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, -signal.SIGINT), err
    assert err.strip() == f"interrupted: the finished part is kept in {out}; run the same command with --resume to finish it"
    assert (out / "manifest.json").is_file()
