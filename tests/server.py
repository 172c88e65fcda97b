"""The real server as a subprocess for tests (shared with the benchmarks)."""
from bench.harness import ServerProcess, free_port

__all__ = ["ServerProcess", "free_port"]
