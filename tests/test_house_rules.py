"""House rules the codebase keeps: small modules, and the scheduling loop in one short file."""

from __future__ import annotations

from pathlib import Path

import tensorrag

PACKAGE = Path(tensorrag.__file__).parent


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_is_over_600_lines():
    big = {str(p.relative_to(PACKAGE)): lines(p) for p in PACKAGE.rglob("*.py") if lines(p) > 600}
    assert big == {}, f"split these by responsibility: {big}"


def test_the_scheduling_loop_is_one_file_under_300_lines():
    engine = PACKAGE / "executors" / "engine.py"
    assert lines(engine) < 300
    loops = [p.name for p in (PACKAGE / "executors").glob("*.py") if "heapq.heappop(self._ready)" in p.read_text()]
    assert loops == ["engine.py"]  # ready nodes are taken in one place
