"""Trip ids: unguessable, unique, and clustered in the ledger's 256-id bitmap words (settlement gas, issue 11)."""

from __future__ import annotations

from sqlmodel import Session

from coopride.db import make_engine
from coopride.models import RideRequest
from coopride.services.rides import TRIP_ID_BITS, WORD_BITS, WORD_IDS, allocate_trip_id


def _allocate(session: Session, count: int) -> list[int]:
    ids = []
    with session.no_autoflush:
        for _ in range(count):
            trip_id = allocate_trip_id(session)
            session.add(RideRequest(trip_id=trip_id))  # pending, as a booking being made
            ids.append(trip_id)
    return ids


def test_trip_ids_fill_one_random_word_before_opening_another(database_url):
    engine = make_engine(database_url)
    with Session(engine) as session:
        ids = _allocate(session, 2 * WORD_IDS + 10)
    engine.dispose()
    assert len(set(ids)) == len(ids) and all(0 < i < 2**TRIP_ID_BITS for i in ids)
    words = [i >> WORD_BITS for i in ids]
    assert len(set(words)) == 3  # 256 + 256 + 10
    assert words[:WORD_IDS] == [words[0]] * WORD_IDS
    assert ids[:WORD_IDS] != sorted(ids[:WORD_IDS])  # drawn at random inside the word, not counted up


def test_a_fresh_book_opens_a_random_word(database_url):
    engine = make_engine(database_url)
    words = set()
    for _ in range(5):
        with Session(engine) as session:
            words.add(allocate_trip_id(session) >> WORD_BITS)
    engine.dispose()
    assert len(words) == 5
