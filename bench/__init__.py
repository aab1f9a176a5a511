"""Benchmarks: each `bench/bench_*.py` has `async def run() -> list[dict]`; rows are printed and saved."""
