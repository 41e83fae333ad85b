"""Benchmark ``await clerk.machines.update(...)`` against a bare aiohttp floor and the official SDK.

    .venv/bin/python -m benchmarks.bench_update            # full run (~5 minutes)
    .venv/bin/python -m benchmarks.bench_update --quick    # short run (< 1 minute)
    .venv/bin/python -m benchmarks.bench_update --json out.json
    .venv/bin/python -m benchmarks.bench_update --profile clerk-speedups --concurrency 64

The parent starts ``server.py`` in its own process, then runs every (client, concurrency)
cell as a fresh ``worker.py`` process, round-robin: each repetition runs every cell once,
in an order rotated from one repetition to the next, so slow drifts of a shared, noisy
machine hit every client alike. Around each cell it reads the server's CPU time from
``/proc/<pid>/stat``. It prints the medians over the repetitions, and each client's CPU per
request as a ratio to its floor measured in the same repetition (the median of those
paired ratios). See ``benchmarks/README.md`` for what each column means.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
SERVER = HERE / "server.py"

ALL_CLIENTS = (
    "clerk-default",
    "clerk-speedups",
    "floor-default",
    "floor-speedups",
    "official",
    "official-uvloop",
)
# The floor each client is measured against: the same JSON library and event loop.
FLOOR = {
    "clerk-default": "floor-default",
    "clerk-speedups": "floor-speedups",
    "official": "floor-default",
    "official-uvloop": "floor-speedups",
}
SPEEDUPS = frozenset({"clerk-speedups", "floor-speedups", "official-uvloop"})
CONCURRENCY = (1, 16, 64, 256)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- environment --------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def ensure_official(install: bool) -> bool:
    """``clerk-backend-api`` is not a dependency of the project: install it on demand."""
    if importlib.util.find_spec("clerk_backend_api") is not None:
        return True
    if not install:
        return False
    print("installing clerk-backend-api into this environment (benchmarks only)...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "clerk-backend-api"], check=False
    )
    importlib.invalidate_caches()
    return done.returncode == 0 and importlib.util.find_spec("clerk_backend_api") is not None


def machine_info() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "loadavg": os.getloadavg(),
        "versions": {
            d: _version(d)
            for d in (
                "clerk-async",
                "aiohttp",
                "yarl",
                "multidict",
                "attrs",
                "cattrs",
                "orjson",
                "uvloop",
                "clerk-backend-api",
                "httpx",
                "httpcore",
                "pydantic",
            )
        },
    }


# --- the server ---------------------------------------------------------------------------


@contextmanager
def server_process() -> Iterator[tuple[int, int]]:
    """Start ``server.py``; yield (pid, port); stop it."""
    proc = subprocess.Popen(
        [sys.executable, str(SERVER)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"server did not start: {line!r} {err}")
        yield proc.pid, int(line.split()[1])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from ``/proc/<pid>/stat`` (clock-tick resolution)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


# --- cells --------------------------------------------------------------------------------


def worker_env(client: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CLERK_ASYNC_PURE_JSON", None)
    if client not in SPEEDUPS:
        env["CLERK_ASYNC_PURE_JSON"] = "1"
    return env


def run_cell(
    client: str,
    concurrency: int,
    url: str,
    server_pid: int,
    *,
    duration: float,
    warmup: float,
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(WORKER),
        "--client",
        client,
        "--url",
        url,
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        *extra,
    ]
    server_cpu0 = cpu_seconds(server_pid)
    done = subprocess.run(
        cmd, env=worker_env(client), capture_output=True, text=True, timeout=300, check=False
    )
    server_cpu = cpu_seconds(server_pid) - server_cpu0
    if done.returncode != 0:
        raise RuntimeError(f"{client} c={concurrency} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["server_cpu_s"] = server_cpu
    # Server CPU over the worker's whole life, divided by every request it answered then.
    result["server_us_per_req"] = server_cpu / result["sent"] * 1e6
    # The share of one core the server needed at the measured throughput.
    result["server_load"] = result["server_us_per_req"] * result["rps"] / 1e6
    return result


def run_all(
    clients: Sequence[str],
    concurrencies: Sequence[int],
    reps: int,
    *,
    duration: float,
    warmup: float,
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    total = reps * len(concurrencies) * len(clients)
    started = time.monotonic()
    with server_process() as (pid, port):
        url = f"http://127.0.0.1:{port}/v1"
        n = 0
        for rep in range(reps):
            for ci, concurrency in enumerate(concurrencies):
                shift = (rep + ci) % len(clients)
                for client in (*clients[shift:], *clients[:shift]):
                    n += 1
                    r = run_cell(client, concurrency, url, pid, duration=duration, warmup=warmup)
                    r["rep"] = rep
                    results.append(r)
                    print(
                        f"[{n:3d}/{total}] {time.monotonic() - started:6.1f}s rep {rep} "
                        f"c={concurrency:<3d} {client:<16s} {r['rps']:8.0f} req/s "
                        f"{r['cpu_us_per_req']:7.1f} us/req  server {r['server_us_per_req']:5.1f}"
                        f" us/req ({r['server_load']:.0%} of a core)",
                        file=sys.stderr,
                        flush=True,
                    )
    return results


# --- the report ---------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def paired_ratios(results: list[dict[str, Any]], key: str) -> dict[tuple[str, int], list[float]]:
    """client / floor of ``key``, paired within each repetition and concurrency."""
    by_cell = {(r["client"], r["concurrency"], r["rep"]): r for r in results}
    ratios: dict[tuple[str, int], list[float]] = defaultdict(list)
    for (client, concurrency, rep), r in by_cell.items():
        floor = by_cell.get((FLOOR.get(client, client), concurrency, rep))
        if floor is not None and floor[key]:
            ratios[client, concurrency].append(r[key] / floor[key])
    return ratios


def report(results: list[dict[str, Any]], clients: Sequence[str], info: dict[str, Any]) -> str:
    cells: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        cells[r["client"], r["concurrency"]].append(r)
    cpu_ratio = paired_ratios(results, "cpu_us_per_req")
    rps_ratio = paired_ratios(results, "rps")
    concurrencies = sorted({r["concurrency"] for r in results})
    reps = len({r["rep"] for r in results})

    def med(client: str, c: int, key: str) -> float:
        return _median([r[key] for r in cells[client, c]])

    lines = [
        f"Medians of {reps} interleaved repetitions; ratios are paired within a repetition.",
        "",
        "| conc | client | req/s | CPU µs/req | CPU x floor | req/s x floor | p50 ms | p99 ms "
        "| RSS MB | import ms | server µs/req | server load |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in concurrencies:
        for client in clients:
            if not cells[client, c]:
                continue
            ratio = _median(cpu_ratio[client, c])
            speed = _median(rps_ratio[client, c])
            lines.append(
                f"| {c} | {client} | {med(client, c, 'rps'):,.0f} "
                f"| {med(client, c, 'cpu_us_per_req'):,.0f} "
                f"| {'-' if client not in FLOOR else f'{ratio:.2f}'} "
                f"| {'-' if client not in FLOOR else f'{speed:.2f}'} "
                f"| {med(client, c, 'p50_ms'):.2f} | {med(client, c, 'p99_ms'):.2f} "
                f"| {med(client, c, 'rss_mb'):.1f} | {med(client, c, 'import_s') * 1e3:.0f} "
                f"| {med(client, c, 'server_us_per_req'):.1f} "
                f"| {med(client, c, 'server_load'):.0%} |"
            )
    # The headline: CPU per request as a multiple of the floor, per concurrency.
    lines += [
        "",
        "CPU per request as a multiple of the matching floor: the median of the ratios paired",
        "within each repetition, then (best) the ratio of the two lowest values, the runs the",
        "rest of the machine disturbed least:",
        "",
        "| client | floor | " + " | ".join(f"c={c}" for c in concurrencies) + " |",
        "|---|---|" + "---:|" * len(concurrencies),
    ]

    def best(client: str, c: int) -> str:
        floor = cells[FLOOR[client], c]
        if not floor:
            return "-"
        lowest = min(r["cpu_us_per_req"] for r in cells[client, c])
        return f"{lowest / min(r['cpu_us_per_req'] for r in floor):.2f}"

    for client in clients:
        if client in FLOOR and any(cpu_ratio[client, c] for c in concurrencies):
            row = " | ".join(
                f"{_median(cpu_ratio[client, c]):.2f} (best {best(client, c)})"
                for c in concurrencies
            )
            lines.append(f"| {client} | {FLOOR[client]} | {row} |")
    if "official" in clients and "clerk-default" in clients:
        by_cell = {(r["client"], r["concurrency"], r["rep"]): r for r in results}
        multiples: list[str] = []
        for c in concurrencies:
            pairs = [
                by_cell[("official", c, rep)]["cpu_us_per_req"]
                / by_cell[("clerk-default", c, rep)]["cpu_us_per_req"]
                for rep in range(reps)
                if ("official", c, rep) in by_cell and ("clerk-default", c, rep) in by_cell
            ]
            multiples.append(f"{_median(pairs):.1f}")
        lines += [
            "",
            "official CPU per request ÷ clerk-default's: "
            + ", ".join(f"c={c}: {v}x" for c, v in zip(concurrencies, multiples, strict=True)),
        ]
    loads = [r["server_load"] for r in results]
    lines += [
        "",
        f"Server: median {_median([r['server_us_per_req'] for r in results]):.1f} µs CPU per "
        f"request; the busiest cell needed {max(loads):.0%} of one core "
        f"(median {_median(loads):.0%}).",
        f"Load average before: {info['loadavg'][0]:.2f}, after: {os.getloadavg()[0]:.2f}.",
    ]
    return "\n".join(lines)


def describe(info: dict[str, Any]) -> str:
    v = info["versions"]
    return "\n".join(
        [
            f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['platform']}",
            f"Python: {info['python']}",
            "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        ]
    )


# --- profiling ----------------------------------------------------------------------------

_GROUPS = (
    ("<attrs generated", "attrs (generated)"),
    ("<cattrs generated", "cattrs (generated)"),
    ("/clerk_async/", "clerk_async"),
    ("/benchmarks/", "benchmark harness"),
    ("/aiohttp/", "aiohttp"),
    ("/yarl/", "yarl"),
    ("/multidict/", "multidict"),
    ("/cattrs/", "cattrs"),
    ("/cattr/", "cattrs"),
    ("/attr/", "attrs"),
    ("/attrs/", "attrs"),
    ("/asyncio/", "asyncio"),
    ("/json/", "json (stdlib)"),
    ("/httpx/", "httpx"),
    ("/httpcore/", "httpcore"),
    ("/pydantic", "pydantic"),
    ("/clerk_backend_api/", "clerk_backend_api"),
)
OURS = frozenset(
    {"clerk_async", "attrs (generated)", "cattrs (generated)", "cattrs", "attrs", "yarl"}
)


def _group(filename: str, name: str) -> str:
    if filename == "~":  # a C function: name like "<method 'send' of '_socket.socket' objects>"
        return "C builtins"
    for needle, group in _GROUPS:
        if needle in filename:
            return group
    return "other Python"


def profile_summary(path: str, requests: int, top: int) -> str:
    stats = pstats.Stats(path)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    groups: dict[str, float] = defaultdict(float)
    rows: list[tuple[float, int, str, str]] = []
    total = 0.0
    for (filename, lineno, name), (_cc, ncalls, tottime, _ct, _callers) in raw.items():
        group = _group(filename, name)
        groups[group] += tottime
        total += tottime
        if group in OURS:
            where = filename.split("site-packages/")[-1].split("/work/main/")[-1]
            rows.append((tottime, ncalls, group, f"{where}:{lineno}({name})"))
    per = 1e6 / requests
    out = [f"profiled {requests} requests: {total * per:.0f} µs of own time per request"]
    out.append("own time by package, µs per request:")
    for group, t in sorted(groups.items(), key=lambda kv: -kv[1]):
        out.append(f"  {group:<22s} {t * per:7.1f}  ({t / total:5.1%})")
    out.append(f"top {top} functions in clerk_async/attrs/cattrs/yarl by own time:")
    out.append("  µs/req  calls/req  function")
    for tottime, ncalls, _group_name, where in sorted(rows, reverse=True)[:top]:
        out.append(f"  {tottime * per:6.2f}  {ncalls / requests:9.2f}  {where}")
    return "\n".join(out)


def _own_times(path: str, requests: int) -> dict[str, tuple[float, float]]:
    """function -> (own µs per request, calls per request)."""
    raw: dict[Any, Any] = pstats.Stats(path).stats  # type: ignore[attr-defined]
    out: dict[str, tuple[float, float]] = {}
    for (filename, lineno, name), (_cc, ncalls, tottime, _ct, _callers) in raw.items():
        where = filename.split("site-packages/")[-1].split(str(HERE.parent) + "/")[-1]
        key = f"{where}:{lineno}({name})" if filename != "~" else name
        out[key] = (tottime / requests * 1e6, ncalls / requests)
    return out


def profile_diff(client_path: str, client_n: int, floor_path: str, floor_n: int, top: int) -> str:
    """The functions whose own time per request exceeds the floor's the most."""
    a, b = _own_times(client_path, client_n), _own_times(floor_path, floor_n)
    zero = (0.0, 0.0)
    keys = sorted(set(a) | set(b), key=lambda k: b.get(k, zero)[0] - a.get(k, zero)[0])
    lines = [
        f"total own time: {sum(v[0] for v in a.values()):.0f} vs floor "
        f"{sum(v[0] for v in b.values()):.0f} µs per request; function calls (a count, free"
        f" of noise): {sum(v[1] for v in a.values()):.0f} vs {sum(v[1] for v in b.values()):.0f}"
        " per request",
        "  +µs/req  µs/req  floor  calls/req floor  function",
    ]
    for k in keys[:top]:
        (ta, ca), (tb, cb) = a.get(k, zero), b.get(k, zero)
        lines.append(f"  {ta - tb:7.2f} {ta:7.2f} {tb:6.2f} {ca:9.2f} {cb:5.2f}  {k}")
    return "\n".join(lines)


def run_profile(client: str, concurrency: int, duration: float, top: int, profiler: str) -> None:
    """Profile ``client`` and its floor at ``concurrency`` (cProfile inflates small calls:
    read the numbers as where the time goes, not as what it costs without the profiler)."""
    floor = FLOOR.get(client, client)
    with server_process() as (pid, port), tempfile.TemporaryDirectory() as tmp:
        url = f"http://127.0.0.1:{port}/v1"
        done: dict[str, tuple[str, int]] = {}
        for name in dict.fromkeys((client, floor)):
            out = str(Path(tmp) / f"{name}.prof")
            r = run_cell(
                name,
                concurrency,
                url,
                pid,
                duration=duration,
                warmup=0.3,
                extra=("--profile", out, "--profiler", profiler),
            )
            done[name] = (out, r["requests"])
            print(f"\n=== {name} c={concurrency} ({r['cpu_us_per_req']:.0f} µs CPU/req profiled)")
            if profiler == "pyinstrument":
                print(Path(out).read_text())
            else:
                print(profile_summary(out, r["requests"], top))
        if profiler == "cprofile" and floor != client:
            print(f"\n=== {client} minus {floor}: own time per request, largest excess first")
            print(profile_diff(*done[client], *done[floor], top))


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="clerk_async vs a bare aiohttp floor vs clerk-backend-api: machines.update"
    )
    parser.add_argument("--quick", action="store_true", help="a short run (< 1 minute)")
    parser.add_argument("--reps", type=int, help="repetitions of every cell (default 5; quick 2)")
    parser.add_argument("--duration", type=float, help="measured seconds per cell (default 1.5)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per cell (default 0.3)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", help=f"default: {' '.join(map(str, CONCURRENCY))}"
    )
    parser.add_argument("--clients", nargs="+", choices=ALL_CLIENTS, help="default: all")
    parser.add_argument("--json", metavar="PATH", help="save machine info and raw results")
    parser.add_argument(
        "--no-install", action="store_true", help="do not pip install clerk-backend-api"
    )
    parser.add_argument("--profile", metavar="CLIENT", choices=ALL_CLIENTS, help="profile mode")
    parser.add_argument("--profiler", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--top", type=int, default=30, help="profile: functions to list")
    args = parser.parse_args(argv)

    quick = args.quick
    reps = args.reps or (2 if quick else 5)
    duration = args.duration or (0.25 if quick else 1.5)
    warmup = args.warmup if args.warmup is not None else (0.1 if quick else 0.3)
    concurrencies = tuple(args.concurrency or CONCURRENCY)
    default_clients = [c for c in ALL_CLIENTS if not (quick and c == "official-uvloop")]
    clients = list(args.clients or default_clients)

    wants_official = any(c.startswith("official") for c in [*clients, args.profile or ""])
    if wants_official and not ensure_official(install=not args.no_install):
        print("clerk-backend-api is not installed: leaving the official SDK out", flush=True)
        clients = [c for c in clients if not c.startswith("official")]
    if importlib.util.find_spec("uvloop") is None or importlib.util.find_spec("orjson") is None:
        print("orjson or uvloop missing (pip install '.[speedups]'): no speedups cells")
        clients = [c for c in clients if c not in SPEEDUPS]

    if args.profile:
        run_profile(
            args.profile,
            concurrencies[0] if args.concurrency else 64,
            duration,
            args.top,
            args.profiler,
        )
        return

    info = machine_info()
    print(describe(info), flush=True)
    print(
        f"Run: {reps} repetitions x concurrency {concurrencies} x {len(clients)} clients, "
        f"{duration:g} s measured + {warmup:g} s warm-up per cell",
        flush=True,
    )
    started = time.monotonic()
    results = run_all(clients, concurrencies, reps, duration=duration, warmup=warmup)
    print()
    print(report(results, clients, info))
    print(f"\nTotal time: {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": info,
                    "args": {
                        "reps": reps,
                        "duration": duration,
                        "warmup": warmup,
                        "concurrency": concurrencies,
                        "clients": clients,
                    },
                    "results": results,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
