"""One application per wallet, whatever arrives at once (issue 12), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

from race_helpers import race

DATABASES = ("sqlite", "postgresql")
RACERS = 8


def test_the_same_signed_application_sent_at_once_admits_one_member(wallet, live_url, chain_client, bootstrap_region):
    applicant = wallet()
    data = applicant.application(bootstrap_region)
    applicant.mint(int(data["capital_share"]))
    typed, permit = data["typed_data"], data["permit_typed_data"]
    body = {"region_id": bootstrap_region, "max_capital_share": str(typed["message"]["maxCapitalShare"]),
            "deadline": typed["message"]["deadline"], "signature": applicant.sign_typed(typed),
            "permit_signature": applicant.sign_typed(permit)}

    answers = race(RACERS, lambda client: client.post("/members/applications", json=body, headers=applicant.headers),
                   live_url)

    codes = Counter(answer.status_code for answer in answers)
    assert codes[201] == 1 and codes[409] == RACERS - 1, [(a.status_code, a.text) for a in answers]
    assert chain_client.is_member(applicant.address)
    assert applicant.get("/members/applications/me").json()["status"] == "admitted"
