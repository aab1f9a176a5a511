"""`python -m bench [name ...]`: runs the benchmarks, prints one table, writes var/bench/<name>.json."""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

OUT = Path("var/bench")


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def main(argv: list[str]) -> int:
    import bench

    names = [m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")]
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    OUT.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in sorted(names):
        module = importlib.import_module(f"bench.{name}")
        print(f"\n== {name}: {(module.__doc__ or '').strip().splitlines()[0]}", flush=True)
        t0 = time.monotonic()
        try:
            rows = asyncio.run(module.run())
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            print(f"   FAILED: {type(exc).__name__}: {exc}")
            failed += 1
            continue
        (OUT / f"{name}.json").write_text(json.dumps(rows, indent=2, default=str))
        if rows:
            cols = list(dict.fromkeys(k for row in rows for k in row))
            widths = {c: max(len(c), *(len(_format(r.get(c, ""))) for r in rows)) for c in cols}
            print("   " + "  ".join(c.ljust(widths[c]) for c in cols))
            for row in rows:
                print("   " + "  ".join(_format(row.get(c, "")).ljust(widths[c]) for c in cols))
        print(f"   ({time.monotonic() - t0:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
