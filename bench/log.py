"""Benchmark of the verifiable log, all on one machine in one run.

    .venv/bin/python bench/log.py            # 10k, 1M and 10M entries (several minutes, ~4 GB)
    .venv/bin/python bench/log.py --quick    # 10k and 1M entries (under a minute)

Measures, each against a baseline where one makes sense:

- append throughput with group commit (many threads calling `Log.append` with a few entries
  each) against raw batched SQLite inserts of the same bytes with the same durability
  (WAL, synchronous=FULL) in batches of the mean size group commit achieved;
- inclusion and consistency proof latency at a small and at large sizes, and how it grows
  compared with log2(n);
- `lunan verify` speed (leaves per second) against a bare hashlib loop over the same leaves,
  and the CLI run once;
- memory: peak RSS of this process and of its children, and whether it grows with the log.

Data goes under bench-data/ (gitignored) and is removed at the end unless --keep. The last
line printed is one JSON object: {"bench": "log", "metrics": {...}, "ratios": {...}}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from lunan import node
from lunan.log import Log, merkle, open_log, tiles
from lunan.log.store import TreeStore
from lunan.log.verify import DatabaseSource, verify_log

ROOT = Path(__file__).resolve().parent.parent
BATCH = 8192  # entries per append while building large logs (the log's MAX_BATCH_ENTRIES)
ENTRY_SIZE = 300
SMALL = 10_000
QUICK_SIZES = (SMALL, 1_000_000)
FULL_SIZES = (SMALL, 1_000_000, 10_000_000)

# Targets from the issue; "min" means the ratio must be at least the target, "max" at most.
TARGETS: dict[str, tuple[str, float]] = {
    "append_vs_raw_sqlite": ("min", 0.5),
    "append_bulk_vs_raw_sqlite": ("min", 0.5),
    "inclusion_growth_vs_log_n": ("max", 1.0),
    "consistency_growth_vs_log_n": ("max", 1.0),
    "verify_vs_bare_hashlib": ("min", 0.5),
    "rss_growth_vs_tree_growth": ("max", 0.1),
}

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

Metrics = dict[str, float | int | str | bool]


# --- data ------------------------------------------------------------------------------------


def entry(i: int) -> bytes:
    """A deterministic JSON entry of exactly ENTRY_SIZE bytes that names its number."""
    head = b'{"v":1,"type":"bench.event","seq":%d,"pad":"' % i
    pad = hashlib.sha256(head).hexdigest().encode() * 6
    return head + pad[: ENTRY_SIZE - len(head) - 2] + b'"}'


def entries(start: int, count: int) -> list[bytes]:
    return [entry(i) for i in range(start, start + count)]


def make_node(directory: Path) -> Path:
    """An initialised node directory; its log holds the genesis entry (size 1)."""
    config = node.NodeConfig(
        alliance="bench",
        city="371300",
        name="临沂",
        origin="bench/371300",
        url="http://127.0.0.1:8799",
        database=node.DEFAULT_DATABASE,
    )
    node.init_node(directory, config).dispose()
    return directory


def database_file(directory: Path) -> Path:
    return directory / "node.db"


def disk_mib(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file()) / 2**20


def count_checkpoints(directory: Path) -> int:
    with sqlite3.connect(database_file(directory)) as c:
        return int(c.execute("SELECT count(*) FROM log_checkpoints").fetchone()[0])


# --- measuring -------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def proc_status_mib(field: str, pid: int | str = "self") -> float:
    """A memory figure (VmRSS, VmHWM) from /proc/PID/status, in MiB; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


_run_peak = [0.0]  # the whole run's peak, kept across resets of VmHWM


def reset_peak_rss() -> None:
    """Restart this process's high-water mark (VmHWM), so a phase's own peak can be read.

    This also resets what ru_maxrss reports, so the run's peak is kept in `run_peak_mib`.
    """
    _run_peak[0] = max(_run_peak[0], proc_status_mib("VmHWM"))
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


def run_peak_mib() -> float:
    return max(_run_peak[0], proc_status_mib("VmHWM"), peak_rss_mib(resource.RUSAGE_SELF))


def phase_peak_mib() -> float:
    """Peak RSS of this process since the last `reset_peak_rss`."""
    return proc_status_mib("VmHWM")


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(c) for c in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def peak_rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def progress_bar(auto_refresh: bool = True) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        auto_refresh=auto_refresh,
        transient=True,
    )


# --- 1. append throughput: group commit against raw SQLite ------------------------------------


def bench_append(base: Path, threads: int, per_call: int, total: int, m: Metrics) -> None:
    directory = make_node(base / "append")
    log = open_log(directory)
    before_checkpoints = count_checkpoints(directory)
    calls_per_thread = total // (threads * per_call)
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[BaseException] = []
    start_barrier = threading.Barrier(threads + 1)

    def worker(t: int) -> None:
        mine: list[float] = []
        first = t * calls_per_thread * per_call
        batches = [
            entries(first + c * per_call, per_call) for c in range(calls_per_thread)
        ]  # made before the clock starts
        start_barrier.wait()
        try:
            for batch in batches:
                t0 = time.perf_counter()
                log.append(batch)
                mine.append(time.perf_counter() - t0)
        except BaseException as e:  # reported after the run
            failures.append(e)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    start_barrier.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    if failures:
        raise failures[0]
    appended = threads * calls_per_thread * per_call
    if log.size() != appended + 1:
        raise AssertionError(f"log holds {log.size()} entries, want {appended + 1}")
    log.close()
    commits = count_checkpoints(directory) - before_checkpoints
    mean_batch = appended / commits
    latencies.sort()

    raw_rate = raw_sqlite_inserts(base / "raw.db", appended, per_call, mean_batch)
    rate = appended / elapsed
    m.update(
        {
            "append_threads": threads,
            "append_entries_per_call": per_call,
            "append_entries": appended,
            "append_entry_bytes": ENTRY_SIZE,
            "append_commits": commits,
            "append_mean_batch": round(mean_batch, 2),
            "append_entries_per_s": round(rate),
            "append_commits_per_s": round(commits / elapsed),
            "append_call_p50_ms": round(percentile(latencies, 50) * 1e3, 3),
            "append_call_p99_ms": round(percentile(latencies, 99) * 1e3, 3),
            "raw_sqlite_entries_per_s": round(raw_rate),
        }
    )


def bench_bulk_append(base: Path, calls: int, m: Metrics) -> None:
    """One caller appending BATCH entries per call, against raw inserts in batches of BATCH."""
    directory = make_node(base / "bulk")
    log = open_log(directory)
    batches = [entries(c * BATCH, BATCH) for c in range(calls)]
    t0 = time.perf_counter()
    for batch in batches:
        log.append(batch)
    elapsed = time.perf_counter() - t0
    log.close()
    raw_rate = raw_sqlite_inserts(base / "raw-bulk.db", calls * BATCH, BATCH, BATCH)
    m.update(
        {
            "bulk_append_entries_per_s": round(calls * BATCH / elapsed),
            "raw_sqlite_bulk_entries_per_s": round(raw_rate),
        }
    )


def raw_sqlite_inserts(path: Path, count: int, per_call: int, mean_batch: float) -> float:
    """Entries per second for stdlib sqlite3 inserting the same rows, same durability.

    The rows of the plainest store (DESIGN §7): (log_id, idx, data), one per entry. The log
    itself stores 256 entries to a row (lunan.log.bundles), which this baseline does not.
    Commits come in batches whose sizes average `mean_batch` (a whole number of callers'
    groups, as group commit takes whole calls), so both runs fsync as often.
    """
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA page_size=16384")  # as lunan.storage.db sets for a new database
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE entries (log_id INTEGER, idx INTEGER, data BLOB NOT NULL,"
        " PRIMARY KEY (log_id, idx)) WITHOUT ROWID"
    )
    rows = [(1, i, e) for i, e in enumerate(entries(0, count))]
    # Batch boundaries: cumulative mean_batch, rounded to whole calls.
    bounds: list[int] = []
    k = 1
    while not bounds or bounds[-1] < count:
        bounds.append(min(count, round(k * mean_batch / per_call) * per_call))
        k += 1
    t0 = time.perf_counter()
    lo = 0
    for hi in bounds:
        if hi <= lo:
            continue
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO entries (log_id, idx, data) VALUES (?, ?, ?)", rows[lo:hi])
        conn.execute("COMMIT")
        lo = hi
    elapsed = time.perf_counter() - t0
    conn.close()
    return count / elapsed


# --- 2. building large logs, and proofs at each size ------------------------------------------


def grow(log: Log, target: int, bar: Progress, task: TaskID) -> float:
    """Append in batches of BATCH up to `target`; return the seconds spent in `append`."""
    size = log.size()
    spent = 0.0
    while size < target:
        batch = entries(size, min(BATCH, target - size))
        t0 = time.perf_counter()
        first = log.append(batch)
        spent += time.perf_counter() - t0
        if first != size:
            raise AssertionError(f"append returned {first}, want {size}")
        size += len(batch)
        bar.update(task, completed=size)
    return spent


def reopen_and_append(directory: Path, log: Log) -> tuple[Log, float]:
    """Close the log, open it again and append one entry: the first append after opening
    checks the stored tree against its checkpoint, so it is timed apart."""
    log.close()
    t0 = time.perf_counter()
    log = open_log(directory)
    log.append([entry(log.size())])
    return log, time.perf_counter() - t0


def time_proofs(
    log: Log, size: int, samples: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """Latencies (µs) of inclusion and consistency proofs at `size`, with random i and m."""
    store = log.store
    for _ in range(min(20, samples)):  # warm-up: connection pool, statement cache
        store.inclusion_proof(rng.randrange(size), size)
    inclusion: list[float] = []
    for _ in range(samples):
        i = rng.randrange(size)
        t0 = time.perf_counter_ns()
        store.inclusion_proof(i, size)
        inclusion.append((time.perf_counter_ns() - t0) / 1e3)
    consistency: list[float] = []
    for _ in range(samples):
        old = rng.randrange(1, size)
        t0 = time.perf_counter_ns()
        store.consistency_proof(old, size)
        consistency.append((time.perf_counter_ns() - t0) / 1e3)
    check_proofs(log, size, rng)
    return sorted(inclusion), sorted(consistency)


def time_uncached_proofs(
    log: Log, size: int, samples: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """The same, through a store without a tile cache: the cost of the algorithm and reads."""
    store = TreeStore(log.engine, log.store.log_id, cached_tiles=0)
    inclusion: list[float] = []
    consistency: list[float] = []
    for _ in range(samples):
        i, old = rng.randrange(size), rng.randrange(1, size)
        t0 = time.perf_counter_ns()
        store.inclusion_proof(i, size)
        t1 = time.perf_counter_ns()
        store.consistency_proof(old, size)
        t2 = time.perf_counter_ns()
        inclusion.append((t1 - t0) / 1e3)
        consistency.append((t2 - t1) / 1e3)
    return sorted(inclusion), sorted(consistency)


def check_proofs(log: Log, size: int, rng: random.Random) -> None:
    """A few of the timed kinds of proof really verify against the stored roots."""
    store = log.store
    root = store.root(size)
    for _ in range(10):
        i = rng.randrange(size)
        merkle.verify_inclusion(i, size, store.leaf_hash(i), store.inclusion_proof(i, size), root)
        old = rng.randrange(1, size)
        proof = store.consistency_proof(old, size)
        merkle.verify_consistency(old, size, proof, store.root(old), root)


def bench_sizes(base: Path, sizes: tuple[int, ...], samples: int, m: Metrics) -> tuple[Path, Log]:
    directory = make_node(base / "big")
    log = open_log(directory)
    rng = random.Random(9162)
    built_entries = 0
    build_time = 0.0
    for size in sizes:
        reset_peak_rss()
        with progress_bar() as bar:
            task = bar.add_task(f"building log to {size:,}", total=size, completed=log.size())
            before = log.size()
            build_time += grow(log, size - 1, bar, task)
            built_entries += log.size() - before
        log, reopen = reopen_and_append(directory, log)
        if log.size() != size:
            raise AssertionError(f"log holds {log.size()} entries, want {size}")
        err.print(f"  log at {size:,} entries; timing {samples:,} proofs of each kind")
        inclusion, consistency = time_proofs(log, size, samples, rng)
        inclusion_raw, consistency_raw = time_uncached_proofs(log, size, samples, rng)
        m.update(
            {
                f"inclusion_uncached_p50_us_{size}": round(percentile(inclusion_raw, 50), 1),
                f"consistency_uncached_p50_us_{size}": round(percentile(consistency_raw, 50), 1),
                f"reopen_first_append_ms_{size}": round(reopen * 1e3, 2),
                f"inclusion_p50_us_{size}": round(percentile(inclusion, 50), 1),
                f"inclusion_p99_us_{size}": round(percentile(inclusion, 99), 1),
                f"consistency_p50_us_{size}": round(percentile(consistency, 50), 1),
                f"consistency_p99_us_{size}": round(percentile(consistency, 99), 1),
                f"rss_self_mib_at_{size}": round(proc_status_mib("VmRSS"), 1),
                # Peak while growing the log to this size and proving at it.
                f"peak_rss_self_mib_to_{size}": round(phase_peak_mib(), 1),
                f"disk_mib_at_{size}": round(disk_mib(directory), 1),
            }
        )
    m["proof_samples"] = samples
    m["build_entries_per_s"] = round(built_entries / build_time)
    return directory, log


# --- 3. verify against bare hashing -------------------------------------------------------------


def leaf_batches(db: Path, batch: int = 4096) -> Iterator[list[bytes]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        cur = conn.execute("SELECT data FROM log_bundles WHERE log_id = 1 ORDER BY idx, first")
        while rows := cur.fetchmany(max(1, batch // tiles.TILE_WIDTH)):
            yield [e for (data,) in rows for e in tiles.unbundle_entries(data)]
    finally:
        conn.close()


def bench_verify(directory: Path, log: Log, m: Metrics) -> None:
    size = log.size()
    url = log.engine.url.render_as_string(hide_password=False)
    verifier = log.verifier()

    # Bare hashing first: it also reads every entry, so both runs find the OS cache warm.
    hashing = 0.0
    hashed = 0
    sha = hashlib.sha256
    with progress_bar() as bar:
        task = bar.add_task("bare hashlib", total=size)
        for batch in leaf_batches(database_file(directory)):
            t0 = time.perf_counter()
            _ = [sha(b"\x00" + e).digest() for e in batch]
            hashing += time.perf_counter() - t0
            hashed += len(batch)
            bar.update(task, completed=hashed)
    if hashed != size:
        raise AssertionError(f"hashed {hashed} leaves, want {size}")

    reset_peak_rss()
    # No refresh thread while verify forks its workers: the bar is redrawn from the callback.
    with progress_bar(auto_refresh=False) as bar:
        task = bar.add_task("lunan verify (API)", total=size)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            bar.refresh()

        t0 = time.perf_counter()
        report = verify_log(DatabaseSource(url, 1), verifier, progress)
        elapsed = time.perf_counter() - t0
    if report.size != size:
        raise AssertionError(f"verify checked {report.size} entries, want {size}")
    m["peak_rss_self_mib_verify"] = round(phase_peak_mib(), 1)

    cli, cli_elapsed, cli_peak, worker_peak = run_cli_verify(directory)
    cli_out = " ".join((cli.stdout + cli.stderr).split())
    err.print(f"  $ lunan verify --dir {directory}\n  → exit {cli.returncode}: {cli_out}")
    m.update(
        {
            "verify_leaves": size,
            "verify_workers": os.cpu_count() or 1,
            "verify_s": round(elapsed, 2),
            "verify_leaves_per_s": round(size / elapsed),
            "bare_hashlib_leaves_per_s": round(hashed / hashing),
            "cli_verify_s": round(cli_elapsed, 2),
            "cli_verify_exit": cli.returncode,
            "cli_verify_output": cli_out[:200],
            "cli_verify_ok": cli.returncode == 0 and "OK" in cli_out,
            "cli_verify_peak_rss_mib": round(cli_peak, 1),
            "cli_verify_worker_peak_rss_mib": round(worker_peak, 1),
        }
    )


def run_cli_verify(
    directory: Path,
) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    """Run `lunan verify --dir` once; sample its peak RSS and its workers' RSS meanwhile.

    ru_maxrss of children would not do: a child starts from its parent's high-water mark.
    """
    lunan = Path(sys.executable).parent / "lunan"
    args = [str(lunan), "verify", "--dir", str(directory)]
    cli_peak = worker_peak = 0.0
    t0 = time.perf_counter()
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        sampled: list[str] = []

        def drain() -> None:  # read stderr meanwhile so the child never blocks on a pipe
            assert p.stderr is not None
            sampled.append(p.stderr.read())

        reader = threading.Thread(target=drain)
        reader.start()
        while p.poll() is None:
            cli_peak = max(cli_peak, proc_status_mib("VmHWM", p.pid))
            for c in children_of(p.pid):
                worker_peak = max(worker_peak, proc_status_mib("VmRSS", c))
            time.sleep(0.02)
        assert p.stdout is not None
        stdout = p.stdout.read()
        reader.join()
    elapsed = time.perf_counter() - t0
    done = subprocess.CompletedProcess(args, p.returncode, stdout, "".join(sampled))
    return done, elapsed, cli_peak, worker_peak


# --- report ------------------------------------------------------------------------------------


def ratios(m: Metrics, sizes: tuple[int, ...]) -> dict[str, float]:
    def f(key: str) -> float:
        return float(m[key])

    small, big = sizes[0], sizes[-1]
    log_growth = math.log2(big) / math.log2(small)
    r = {
        "append_vs_raw_sqlite": f("append_entries_per_s") / f("raw_sqlite_entries_per_s"),
        "append_bulk_vs_raw_sqlite": f("bulk_append_entries_per_s")
        / f("raw_sqlite_bulk_entries_per_s"),
        # Growth is judged without the tile cache, which holds every tile of a small log
        # and would make the comparison one of cache hits against database reads.
        "inclusion_growth_vs_log_n": (
            f(f"inclusion_uncached_p50_us_{big}") / f(f"inclusion_uncached_p50_us_{small}")
        )
        / log_growth,
        "consistency_growth_vs_log_n": (
            f(f"consistency_uncached_p50_us_{big}") / f(f"consistency_uncached_p50_us_{small}")
        )
        / log_growth,
        "verify_vs_bare_hashlib": f("verify_leaves_per_s") / f("bare_hashlib_leaves_per_s"),
        # Peak memory while growing to (and proving at) the biggest size less that at the
        # smallest, against the bytes of every node hash of the tree grown meanwhile (2n
        # hashes of 32 bytes): ≈ 0 unless the tree, or anything proportional to it, is held.
        "rss_growth_vs_tree_growth": max(
            0.0, f(f"peak_rss_self_mib_to_{big}") - f(f"peak_rss_self_mib_to_{small}")
        )
        / ((big - small) * 64 / 2**20),
    }
    if m.get("quick"):
        # At a million entries the fixed tile cache (≤ 16 MiB) is still a fair share of the
        # tree (61 MiB): the memory ratio means something only at ten million.
        del r["rss_growth_vs_tree_growth"]
    return {k: round(v, 3) for k, v in r.items()}


def meets(name: str, value: float) -> bool:
    kind, target = TARGETS[name]
    return value >= target if kind == "min" else value <= target


def print_table(m: Metrics, r: dict[str, float], sizes: tuple[int, ...]) -> None:
    t = Table(title="lunan log benchmark", show_lines=False)
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_column("baseline / note", justify="right")
    t.add_row(
        f"append, group commit ({m['append_threads']} threads × {m['append_entries_per_call']})",
        f"{m['append_entries_per_s']:,} entries/s",
        f"raw sqlite3 {m['raw_sqlite_entries_per_s']:,}/s",
    )
    t.add_row(
        "  mean batch / call latency p50, p99",
        f"{m['append_mean_batch']} entries",
        f"{m['append_call_p50_ms']} ms, {m['append_call_p99_ms']} ms",
    )
    t.add_row(
        f"bulk append (one caller, {BATCH}/call)",
        f"{m['bulk_append_entries_per_s']:,} entries/s",
        f"raw sqlite3 {m['raw_sqlite_bulk_entries_per_s']:,}/s",
    )
    for size in sizes:
        t.add_row(
            f"inclusion proof @ {size:,}",
            f"p50 {m[f'inclusion_p50_us_{size}']} µs",
            f"p99 {m[f'inclusion_p99_us_{size}']} µs",
        )
        t.add_row(
            f"consistency proof @ {size:,}",
            f"p50 {m[f'consistency_p50_us_{size}']} µs",
            f"p99 {m[f'consistency_p99_us_{size}']} µs",
        )
        t.add_row(
            f"reopen + first append @ {size:,}",
            f"{m[f'reopen_first_append_ms_{size}']} ms",
            f"disk {m[f'disk_mib_at_{size}']} MiB",
        )
        t.add_row(
            f"  peak RSS growing to / proving @ {size:,}",
            f"{m[f'peak_rss_self_mib_to_{size}']} MiB",
            f"tree hashes {size * 64 / 2**20:,.1f} MiB",
        )
    t.add_row(
        f"verify ({m['verify_workers']} workers) @ {m['verify_leaves']:,}",
        f"{m['verify_leaves_per_s']:,} leaves/s",
        f"bare hashlib {m['bare_hashlib_leaves_per_s']:,}/s",
    )
    t.add_row(
        "lunan verify CLI",
        f"{m['cli_verify_s']} s",
        "OK" if m["cli_verify_ok"] else f"FAILED (exit {m['cli_verify_exit']})",
    )
    t.add_row(
        "peak RSS: children (ru_maxrss)",
        f"{m['peak_rss_children_mib']} MiB",
        "bound: inherits the parent's",
    )
    t.add_row(
        "peak RSS: run / verify API",
        f"{m['peak_rss_self_mib']} MiB",
        f"{m['peak_rss_self_mib_verify']} MiB",
    )
    t.add_row("peak RSS: append phase", f"{m['peak_rss_self_mib_append']} MiB", "")
    t.add_row(
        "peak RSS: verify CLI / its workers",
        f"{m['cli_verify_peak_rss_mib']} MiB",
        f"{m['cli_verify_worker_peak_rss_mib']} MiB",
    )
    for name, value in r.items():
        kind, target = TARGETS[name]
        sign = "≥" if kind == "min" else "≤"
        verdict = "[green]meets[/]" if meets(name, value) else "[red]misses[/]"
        t.add_row(f"ratio {name}", f"{value}", f"target {sign} {target}: {verdict}")
    out.print(t)


def phase(name: str, fn: Callable[[], None]) -> None:
    err.print(f"[bold]▶ {name}[/]")
    t0 = time.perf_counter()
    fn()
    err.print(f"  done in {time.perf_counter() - t0:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="stop at 1M entries (< 1 min)")
    parser.add_argument("--keep", action="store_true", help="keep bench-data/ afterwards")
    parser.add_argument(
        "--sizes", help="comma-separated log sizes to measure at (default by --quick)"
    )
    parser.add_argument("--samples", type=int, default=1000, help="proofs timed per kind")
    parser.add_argument("--threads", type=int, default=8, help="concurrent appenders")
    parser.add_argument("--per-call", type=int, default=4, help="entries per append call")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data" / "log")
    args = parser.parse_args(argv)

    if args.sizes:
        sizes = tuple(sorted(int(s) for s in args.sizes.split(",")))
    else:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
    if len(sizes) < 2 or sizes[0] < 2:
        parser.error("--sizes needs at least two sizes ≥ 2")
    append_total = 40_000 if args.quick else 200_000

    base: Path = args.data
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    m: Metrics = {"quick": bool(args.quick)}
    holder: dict[str, tuple[Path, Log]] = {}
    t_start = time.perf_counter()
    reset_peak_rss()
    try:
        phase(
            f"append: {args.threads} threads × {args.per_call} entries/call, group commit "
            "vs raw sqlite3",
            lambda: bench_append(base, args.threads, args.per_call, append_total, m),
        )
        m["peak_rss_self_mib_append"] = round(phase_peak_mib(), 1)
        bulk_calls = 10 if args.quick else 25
        phase(
            f"bulk append: one caller, {bulk_calls} × {BATCH} entries, vs raw sqlite3",
            lambda: bench_bulk_append(base, bulk_calls, m),
        )

        def sizes_phase() -> None:
            holder["big"] = bench_sizes(base, sizes, args.samples, m)

        phase(f"proofs at {', '.join(f'{s:,}' for s in sizes)} entries", sizes_phase)
        directory, log = holder["big"]
        phase(f"verify at {log.size():,} entries", lambda: bench_verify(directory, log, m))
        log.close()
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
            if base.parent.name == "bench-data" and not any(base.parent.iterdir()):
                base.parent.rmdir()

    m["peak_rss_self_mib"] = round(run_peak_mib(), 1)
    # ru_maxrss of children: the largest child's; a forked child starts from its parent's
    # high-water mark, so this bounds the workers' peak from above (see cli_verify_*).
    m["peak_rss_children_mib"] = round(peak_rss_mib(resource.RUSAGE_CHILDREN), 1)
    m["tree_hashes_mib_at_max"] = round(sizes[-1] * 64 / 2**20, 1)
    m["wall_s"] = round(time.perf_counter() - t_start, 1)
    r = ratios(m, sizes)
    print_table(m, r, sizes)
    print(json.dumps({"bench": "log", "metrics": m, "ratios": r}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
