"""Stateful property test: whatever riders and drivers do (offer, request, accept, pick up, cancel, in
any order, by any of them), no offer is ever oversold and nobody rides with themselves. Runs the
rides service on a real SQLite."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from fuzz_budget import examples
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import delete
from sqlmodel import Session, select

from coopride.db import init_db, make_engine
from coopride.models import RideRequest, TripOffer
from coopride.models.enums import SEAT_HOLDING
from coopride.services import rides
from coopride.services.errors import DomainError

PEOPLE = [f"0x{i:040x}" for i in range(1, 5)]
NOW = int(time.time())


JITTER = st.floats(-0.002, 0.002)  # degrees: a few hundred metres around the shared route


_DIRECTORY = tempfile.TemporaryDirectory()
ENGINE = make_engine(f"sqlite:///{Path(_DIRECTORY.name) / 'bookings.db'}")
init_db(ENGINE)  # once: migrating per example would dominate the run time


class Bookings(RuleBasedStateMachine):
    @initialize()
    def empty_database(self):
        self.engine = ENGINE
        with self._session() as session:
            session.execute(delete(RideRequest))
            session.execute(delete(TripOffer))
            session.commit()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @rule(driver=st.sampled_from(PEOPLE), seats=st.integers(1, 3), dlat=JITTER)
    def offer(self, driver, seats, dlat):
        with self._session() as session:
            session.add(TripOffer(driver=driver, region_id=1, origin_lat=45.7640 + dlat, origin_lon=4.8300,
                                  destination_lat=45.7550, destination_lon=4.8550, depart_earliest=NOW,
                                  depart_latest=NOW + 1800, seats=seats, max_detour_m=3_000))
            session.flush()
            rides.run_matching(session, 1)
            session.commit()

    @rule(rider=st.sampled_from(PEOPLE), dlat=JITTER, dlon=JITTER)
    def request(self, rider, dlat, dlon):
        with self._session() as session:
            session.add(RideRequest(rider=rider, region_id=1, origin_lat=45.7635 + dlat, origin_lon=4.8320 + dlon,
                                    destination_lat=45.7555, destination_lon=4.8530, earliest=NOW, latest=NOW + 3600,
                                    estimated_metres=2_000, fare_per_km=500_000, quoted_fare=1_000_000))
            session.flush()
            rides.run_matching(session, 1)
            session.commit()

    def _some_request(self, index) -> RideRequest | None:
        with self._session() as session:
            requests = session.exec(select(RideRequest).order_by(RideRequest.id)).all()
        return requests[index % len(requests)] if requests else None

    @rule(index=st.integers(0, 50), caller=st.sampled_from(PEOPLE))
    def accept(self, index, caller):
        # The database side of accepting (the chain side, the fare authorisation, is tested in test_rides.py).
        self._act(index, lambda session, request: rides.book(session, request.id, caller))

    @rule(index=st.integers(0, 50))
    def pick_up(self, index):
        def act(session, request):
            if request.offer_id is not None:
                rides.pick_up(session, request.id, session.get(TripOffer, request.offer_id).driver)
        self._act(index, act)

    @rule(index=st.integers(0, 50), caller=st.sampled_from(PEOPLE))
    def cancel(self, index, caller):
        # No chain: a booking made by `book` holds no fare on chain, so cancelling it needs no relay.
        self._act(index, lambda session, request: rides.cancel(session, None, request.id, caller))

    def _act(self, index, action):
        request = self._some_request(index)
        if request is None:
            return
        with self._session() as session:
            try:
                action(session, session.get(RideRequest, request.id))
                session.commit()
            except DomainError:
                session.rollback()

    @invariant()
    def no_offer_is_oversold(self):
        with self._session() as session:
            for offer in session.exec(select(TripOffer)).all():
                assert rides.seats_taken_by_offer(session, [offer.id])[offer.id] <= offer.seats

    @invariant()
    def every_seat_holder_rides_with_someone_else(self):
        with self._session() as session:
            for request in session.exec(select(RideRequest)).all():
                if request.status in SEAT_HOLDING:
                    assert request.offer_id is not None and request.trip_id is not None
                    assert session.get(TripOffer, request.offer_id).driver != request.rider

    @rule(index=st.integers(0, 50), caller=st.sampled_from(PEOPLE))
    def cancel_offer(self, index, caller):
        with self._session() as session:
            offers = session.exec(select(TripOffer).order_by(TripOffer.id)).all()
            if not offers:
                return
            try:
                rides.cancel_offer(session, offers[index % len(offers)].id, caller)
                session.commit()
            except DomainError:
                session.rollback()

    @invariant()
    def each_seat_holder_holds_its_own_numbered_seat(self):
        with self._session() as session:
            held: dict[tuple[int, int], int] = {}
            for request in session.exec(select(RideRequest)).all():
                if request.status in SEAT_HOLDING:
                    offer = session.get(TripOffer, request.offer_id)
                    assert request.seat is not None and 1 <= request.seat <= offer.seats, request
                    assert (request.offer_id, request.seat) not in held
                    held[(request.offer_id, request.seat)] = request.id
                    assert offer.status != "cancelled"
                else:
                    assert request.seat is None, request


Bookings.TestCase.settings = settings(max_examples=examples(100), stateful_step_count=20, deadline=None)
TestBookings = Bookings.TestCase


def test_trip_ids_given_at_match_are_unique():
    with Session(ENGINE) as session:
        ids = [r.trip_id for r in session.exec(select(RideRequest)).all() if r.trip_id is not None]
    assert len(ids) == len(set(ids))


def test_the_database_refuses_two_requests_on_one_seat():
    import pytest
    from sqlalchemy.exc import IntegrityError

    with Session(ENGINE) as session:
        offer = TripOffer(driver=PEOPLE[0], region_id=1, origin_lat=45.7640, origin_lon=4.8300, destination_lat=45.7550,
                          destination_lon=4.8550, depart_earliest=NOW, depart_latest=NOW + 1800, seats=1,
                          max_detour_m=3_000)
        session.add(offer)
        session.flush()
        for rider in PEOPLE[1:3]:
            session.add(RideRequest(rider=rider, region_id=1, origin_lat=45.7635, origin_lon=4.8320,
                                    destination_lat=45.7555, destination_lon=4.8530, earliest=NOW, latest=NOW + 3600,
                                    estimated_metres=2_000, fare_per_km=0, quoted_fare=0, status="matched",
                                    offer_id=offer.id, seat=1))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
