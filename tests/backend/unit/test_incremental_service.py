"""Incremental matching through the service (issue 13), on a real database: each arrival, matched by
`match_arriving_request` / `match_arriving_offer` against the rows its box query returns, leaves the database
exactly as the batch (`run_matching`) run after the same arrival on a twin database; and an arrival loads only
the rows inside its box."""

from __future__ import annotations

import random
import shutil

from sqlalchemy import event
from sqlmodel import Session, select

from coopride.db import make_engine
from coopride.domain.incremental import offer_footprint
from coopride.models import RideRequest, TripOffer
from coopride.models.enums import RequestStatus
from coopride.services import rides

DATABASES = ("sqlite", "postgresql")
NOW = 1_800_000_000
REGION = 1
CENTRE = (45.7600, 4.8400)
PEOPLE = [f"0x{index:040x}" for index in range(1, 7)]  # few people: some ride on their own offers' routes


def _point(rng: random.Random, around: tuple[float, float], spread: float) -> tuple[float, float]:
    return (around[0] + rng.uniform(-spread, spread), around[1] + rng.uniform(-spread, spread))


def _offer(rng: random.Random, now: int, spread: float = 0.05, length: float | None = None) -> TripOffer:
    origin = _point(rng, CENTRE, spread)
    destination = _point(rng, origin if length else CENTRE, length or spread)
    start = now + rng.randrange(-600, 3_600)
    offer = TripOffer(
        driver=rng.choice(PEOPLE),
        region_id=REGION,
        origin_lat=origin[0],
        origin_lon=origin[1],
        destination_lat=destination[0],
        destination_lon=destination[1],
        depart_earliest=start,
        depart_latest=start + rng.randrange(0, 1_800),
        seats=rng.randint(1, 3),
        max_detour_m=rng.choice([0, 500, 1_500, 4_000]),
    )
    rides.set_footprint(offer)
    return offer


def _request(rng: random.Random, now: int, offers: list) -> RideRequest:
    if offers and rng.random() < 0.8:  # near some offer's route, so that many arrivals have candidates
        near = rng.choice(offers)
        origin = _point(rng, (near.origin_lat, near.origin_lon), 0.02)
        destination = _point(rng, (near.destination_lat, near.destination_lon), 0.02)
        start = near.depart_earliest + rng.randrange(-900, 1_800)
    else:
        origin, destination = _point(rng, CENTRE, 0.05), _point(rng, CENTRE, 0.05)
        start = now + rng.randrange(-600, 3_600)
    return RideRequest(
        rider=rng.choice(PEOPLE),
        region_id=REGION,
        origin_lat=origin[0],
        origin_lon=origin[1],
        destination_lat=destination[0],
        destination_lon=destination[1],
        earliest=start,
        latest=start + rng.randrange(0, 2_400),
        estimated_metres=1,
        fare_per_km=0,
        quoted_fare=0,
    )


def _copy(row: TripOffer | RideRequest) -> TripOffer | RideRequest:
    return type(row).model_validate(row.model_dump())


def _state(session: Session) -> tuple[list, list]:
    requests = session.exec(select(RideRequest).order_by(RideRequest.id)).all()
    offers = session.exec(select(TripOffer).order_by(TripOffer.id)).all()
    return (
        [(r.id, r.status, r.offer_id, r.seat, r.shared_metres, r.detour_metres, r.pickup_time) for r in requests],
        [(o.id, o.status) for o in offers],
    )


def _twin_url(database_url: str, tmp_path) -> str:
    if database_url.startswith("sqlite"):
        twin = tmp_path / "batch.db"
        shutil.copyfile(database_url.split("///", 1)[1], twin)
        return f"sqlite:///{twin}"
    return database_url  # replaced below for PostgreSQL


def test_each_arrival_leaves_the_database_as_the_batch_does(database_url, database_kind, request, tmp_path):
    if database_kind == "postgresql":
        cluster = request.getfixturevalue("postgresql")
        twin_url = cluster.create_database(template=request.getfixturevalue("postgresql_template"))
    else:
        twin_url = _twin_url(database_url, tmp_path)
    incremental_engine, batch_engine = make_engine(database_url), make_engine(twin_url)
    rng = random.Random(13)
    now, posted_offers, matches = NOW, [], 0
    try:
        for step in range(300):
            if step % 60 == 59:
                now += 1_200  # some offers' windows pass
            with Session(incremental_engine, expire_on_commit=False) as fast, Session(batch_engine) as batch:
                roll = rng.random()
                if roll < 0.08 and step > 10:  # a cancellation frees a seat: both run the batch
                    victims = fast.exec(
                        select(RideRequest.id).where(
                            RideRequest.status.in_((RequestStatus.OPEN, RequestStatus.MATCHED))
                        )
                    ).all()
                    if victims:
                        victim = rng.choice(victims)
                        for session in (fast, batch):
                            row = session.get(RideRequest, victim)
                            row.status, row.seat = RequestStatus.CANCELLED, None
                            session.add(row)
                            session.flush()
                            rides.run_matching(session, REGION, now)
                elif roll < 0.35:
                    offer = _offer(rng, now)
                    posted_offers.append(_copy(offer))  # a detached copy, read by later steps
                    twin = _copy(offer)
                    fast.add(offer)
                    batch.add(twin)
                    fast.flush()
                    batch.flush()
                    rides.match_arriving_offer(fast, offer, now)
                    rides.run_matching(batch, REGION, now)
                else:
                    arrival = _request(rng, now, posted_offers)
                    twin = _copy(arrival)
                    fast.add(arrival)
                    batch.add(twin)
                    fast.flush()
                    batch.flush()
                    rides.match_arriving_request(fast, arrival, now)
                    rides.run_matching(batch, REGION, now)
                fast.commit()
                batch.commit()
                fast_state, batch_state = _state(fast), _state(batch)
                assert fast_state == batch_state, f"step {step}"
                matches = max(matches, sum(1 for r in fast_state[0] if r[2] is not None))
        assert matches >= 15  # the book is not trivially empty
        with Session(incremental_engine) as fast:  # every offer was queried by its box, none as a NULL footprint
            assert all(o.pickup_min_lat is not None for o in fast.exec(select(TripOffer)).all())
    finally:
        incremental_engine.dispose()
        batch_engine.dispose()


def _count_loaded(session: Session, kind: type) -> list[int]:
    loaded: list[int] = []

    @event.listens_for(session, "loaded_as_persistent")
    def _loaded(_session, instance) -> None:
        if isinstance(instance, kind):
            loaded.append(instance.id)

    return loaded


def test_an_arrival_loads_only_the_rows_in_its_box(database_url):
    rng = random.Random(7)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            # a wide book (short trips over 100 km), where a box holds a few offers
            offers = [_offer(rng, NOW, spread=0.5, length=0.03) for _ in range(200)]
            requests = [_request(rng, NOW, offers) for _ in range(300)]
            offers_read = [_copy(offer) for offer in offers]
            session.add_all(offers)
            session.add_all(requests)
            session.commit()
        with Session(engine) as session:
            arrival = _request(rng, NOW, offers_read)
            arrival.rider = "0x" + "f" * 40
            session.add(arrival)
            session.flush()
            loaded = _count_loaded(session, TripOffer)
            rides.match_arriving_request(session, arrival, NOW)
            loaded = list(loaded)  # what the arrival loaded, not what the checks below do
            footprints = {
                o.id: offer_footprint(rides._domain_offer(o, o.seats)) for o in session.exec(select(TripOffer)).all()
            }
            inside = {
                i
                for i, f in footprints.items()
                if f.admits(rides._domain_request(arrival)) and session.get(TripOffer, i).depart_latest >= NOW
            }
            assert set(loaded) == inside
            assert len(loaded) < len(offers) / 4
        with Session(engine) as session:
            offer = _offer(rng, NOW, spread=0.5, length=0.03)
            offer.driver = "0x" + "e" * 40
            session.add(offer)
            session.flush()
            loaded = _count_loaded(session, RideRequest)
            rides.match_arriving_offer(session, offer, NOW)
            loaded = list(loaded)
            footprint = offer_footprint(rides._domain_offer(offer, offer.seats))
            open_requests = session.exec(select(RideRequest).where(RideRequest.status == RequestStatus.OPEN)).all()
            inside_requests = {r.id for r in open_requests if footprint.admits(rides._domain_request(r))}
            # those it matched are no longer open: count them from the loaded list
            assert set(loaded) - inside_requests <= {
                r.id for r in session.exec(select(RideRequest)).all() if r.offer_id == offer.id
            }
            assert inside_requests <= set(loaded)
            assert len(loaded) < len(requests) / 4
    finally:
        engine.dispose()
