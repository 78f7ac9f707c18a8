"""``python -m bench [name [options]]``: run one benchmark, or all of them."""

from __future__ import annotations

import importlib
import sys

from bench import BENCHMARKS


def main(argv: list[str]) -> int:
    if argv and argv[0] in {"-h", "--help"}:
        print(__doc__)
        print("benchmarks:", ", ".join(sorted(BENCHMARKS)))
        return 0
    if argv and argv[0] in BENCHMARKS:
        module = importlib.import_module(BENCHMARKS[argv[0]])
        return int(module.main(argv[1:]))
    if argv:
        print(f"unknown benchmark {argv[0]!r}; known: {', '.join(sorted(BENCHMARKS))}",
              file=sys.stderr)
        return 2
    status = 0
    for name in sorted(BENCHMARKS):
        print(f"== {name}", flush=True)
        status |= int(importlib.import_module(BENCHMARKS[name]).main([]))
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
