"""``gancore --help`` start-up time against ``python -c pass``, measured in the same run.

    python bench/cli_startup.py [--repeat 10]

Prints the median wall time of each and the difference (what gancore adds to a bare Python
start: typer, rich, the entry points of installed packs and their ``gancore_commands`` hooks),
and checks that ``--help`` imports no torch. A benchmark, never a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _time(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    py = [sys.executable]
    _time([*py, "-m", "gancore", "--help"], 1)  # warm the file cache
    bare = _time([*py, "-c", "pass"], args.repeat)
    helped = _time([*py, "-m", "gancore", "--help"], args.repeat)
    code = ("import sys\nfrom gancore.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\nprint('torch' in sys.modules)")
    torch = subprocess.run([*py, "-c", code], capture_output=True, text=True).stdout.split()
    print(f"python -c pass      {bare * 1000:7.1f} ms (median of {args.repeat})")
    print(f"gancore --help      {helped * 1000:7.1f} ms")
    print(f"gancore's share     {(helped - bare) * 1000:7.1f} ms")
    print(f"torch imported      {torch[-1] if torch else '?'}")


if __name__ == "__main__":
    main()
