"""The CI subset of `make fuzz-api`: a fixed seed, at least 1,000 generated requests against a real `coopride run`,
anonymous and signed in as an admitted member; any 5xx, undocumented answer or dropped connection fails."""

from __future__ import annotations

from scripts.fuzz_api import fuzz

CI_REQUESTS = 1_000
CI_SEED = 20261203


def test_a_thousand_generated_requests_get_no_5xx_and_only_documented_answers(tmp_path):
    results = fuzz(CI_REQUESTS, CI_SEED, keep=tmp_path, deterministic=True)
    report = "\n".join(result.output[-3000:] for result in results if not result.passed)
    assert all(result.passed for result in results), report
    assert sum(result.server_errors for result in results) == 0
    assert sum(result.requests for result in results) >= CI_REQUESTS
