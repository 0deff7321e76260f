"""How many examples a property test draws: the suite's budget, times COOPRIDE_FUZZ_FACTOR under `make fuzz`."""

from __future__ import annotations

import os

FACTOR = int(os.environ.get("COOPRIDE_FUZZ_FACTOR", "1"))


def examples(suite_budget: int) -> int:
    return suite_budget * FACTOR
