"""Incremental matching equals the batch matcher for each arrival on a batch-matched (settled) book.

Random books come from hypothesis-drawn seeds fed to numpy; every comparison is exact (same ids,
bit-for-bit the same shared metres, detour and pickup time).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from fuzz_budget import examples
from hypothesis import given, settings, strategies as st
from test_domain_matching import DISTANCE, T0, at, brute_force_pairs, offer, request

from coopride.domain.geo import LatLon
from coopride.domain.incremental import (
    LatLonBox,
    match_arriving_offer,
    match_arriving_request,
    offer_footprint,
    offer_footprints,
)
from coopride.domain.matching import METRES_PER_DEGREE_LAT, Offer, Request, find_candidates, match

seeds = st.integers(0, 2**32 - 1)
CITY_KM = 3.0  # points within +/-3 km of the reference point: dense enough to compete for seats
PEOPLE = 8


class Book:
    """Open requests and offers with free seats, as the booking service holds them."""

    def __init__(self, requests: list[Request], offers: list[Offer]):
        self.requests, self.offers = list(requests), list(offers)

    def apply(self, assignments) -> None:
        """Remove the matched requests and take their seats (full offers leave the book)."""
        matched = {a.request_id for a in assignments}
        taken: dict = {}
        for a in assignments:
            taken[a.offer_id] = taken.get(a.offer_id, 0) + 1
        self.requests = [r for r in self.requests if r.id not in matched]
        offers = []
        for o in self.offers:
            free = o.seats - taken.get(o.id, 0)
            if free > 0:
                offers.append(o if free == o.seats else dataclasses.replace(o, seats=free))
        self.offers = offers

    def settle(self) -> list:
        assignments = match(self.requests, self.offers)
        self.apply(assignments)
        return assignments

    def candidate_offers(self, arriving: Request) -> list[Offer]:
        """What a bounding-box query on the stored footprints returns, in book order."""
        footprints = offer_footprints(self.offers)
        return [o for o, footprint in zip(self.offers, footprints) if footprint.admits(arriving)]

    def candidate_requests(self, arriving: Offer) -> list[Request]:
        footprint = offer_footprint(arriving)
        return [r for r in self.requests if footprint.admits(r)]


class Arrivals:
    """Random requests and offers in a small, busy city (one hour, 6 x 6 km), from a numpy seed.

    Each belongs to one of PEOPLE people, so the rule that nobody rides with themselves is at play."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def point(self) -> LatLon:
        return at(*self.rng.uniform(-CITY_KM, CITY_KM, 2))

    def person(self) -> str:
        return f"person-{self.rng.integers(0, PEOPLE)}"

    def request(self) -> Request:
        self.count += 1
        earliest = T0 + int(self.rng.integers(0, 3_600))
        return Request(
            f"r{self.count}", self.point(), self.point(), earliest, earliest + int(self.rng.integers(0, 1_800)), rider=self.person()
        )

    def offer(self) -> Offer:
        self.count += 1
        depart = T0 + int(self.rng.integers(0, 3_600))
        return Offer(
            f"o{self.count}", self.point(), self.point(), depart, depart + int(self.rng.integers(0, 1_200)),
            int(self.rng.integers(1, 4)), float(self.rng.uniform(0, 4_000)), driver=self.person(),
        )

    def book(self, request_count: int, offer_count: int) -> Book:
        return Book([self.request() for _ in range(request_count)], [self.offer() for _ in range(offer_count)])


def settled_book(seed: int, request_count: int, offer_count: int) -> tuple[Arrivals, Book]:
    arrivals = Arrivals(seed)
    book = arrivals.book(request_count, offer_count)
    book.settle()
    return arrivals, book


class TestSettledBooks:
    @settings(max_examples=examples(40), deadline=None)
    @given(seeds, st.integers(0, 60), st.integers(0, 20))
    def test_a_batch_matched_book_leaves_no_open_request_feasible_with_a_free_seat(self, seed, request_count, offer_count):
        _, book = settled_book(seed, request_count, offer_count)
        assert len(find_candidates(book.requests, book.offers)) == 0
        assert match(book.requests, book.offers) == []


class TestArrivingRequest:
    @settings(max_examples=examples(60), deadline=None)
    @given(seeds, st.integers(0, 60), st.integers(1, 20))
    def test_the_incremental_offer_is_the_batch_matchers(self, seed, request_count, offer_count):
        arrivals, book = settled_book(seed, request_count, offer_count)
        for _ in range(5):
            arriving = arrivals.request()
            candidates = book.candidate_offers(arriving)
            incremental = match_arriving_request(arriving, candidates)
            assert match(book.requests + [arriving], book.offers) == ([incremental] if incremental else [])

    def test_among_equal_detours_and_pickups_the_earlier_offer_in_the_book_wins_in_both(self):
        twins = [offer("first", (0, 0), (12, 0), seats=2), offer("second", (0, 0), (12, 0), seats=2)]
        arriving = request("r", (3, 0.2), (9, 0.1))
        incremental = match_arriving_request(arriving, twins)
        assert incremental.offer_id == "first"
        assert match([arriving], twins) == [incremental]
        assert match_arriving_request(arriving, twins[::-1]).offer_id == "second"

    def test_among_equal_detours_the_earlier_pickup_wins_before_book_order(self):
        same_route = [offer("later", (0, 0), (12, 0), depart=T0 + 300), offer("sooner", (0, 0), (12, 0), depart=T0)]
        arriving = request("r", (3, 0.2), (9, 0.1), window=3_600)
        incremental = match_arriving_request(arriving, same_route)
        assert incremental.offer_id == "sooner"
        assert match([arriving], same_route) == [incremental]

    def test_the_riders_own_offer_is_passed_over_as_in_the_batch(self):
        own = Offer("own", at(0, 0), at(12, 0), T0, T0 + 600, 2, 5_000, driver="alice")
        other = Offer("other", at(0, 0.5), at(12, 0.5), T0, T0 + 600, 2, 5_000, driver="bob")
        arriving = Request("r", at(3, 0), at(9, 0), T0, T0 + 1_800, rider="alice")
        incremental = match_arriving_request(arriving, [own, other])
        assert incremental.offer_id == "other"
        assert match([arriving], [own, other]) == [incremental]

    def test_no_candidate_or_no_feasible_candidate_gives_none(self):
        assert match_arriving_request(request("r", (3, 0), (9, 0)), []) is None
        assert match_arriving_request(request("r", (9, 0), (3, 0)), [offer("o", (0, 0), (12, 0))]) is None

    def test_duplicate_candidate_offers_are_refused(self):
        with pytest.raises(ValueError, match="offer ids must be unique"):
            match_arriving_request(request("r", (3, 0), (9, 0)), [offer("o", (0, 0), (12, 0))] * 2)


class TestArrivingOffer:
    @settings(max_examples=examples(60), deadline=None)
    @given(seeds, st.integers(0, 80), st.integers(0, 15))
    def test_the_incremental_riders_are_the_batch_matchers(self, seed, request_count, offer_count):
        arrivals, book = settled_book(seed, request_count, offer_count)
        for _ in range(5):
            arriving = arrivals.offer()
            incremental = match_arriving_offer(arriving, book.candidate_requests(arriving))
            assert match(book.requests, book.offers + [arriving]) == incremental

    def test_the_longest_trips_take_the_seats_and_equal_ones_go_in_book_order(self):
        waiting = [
            request("short", (1, 0), (3, 0)),
            request("long-a", (1, 0), (11, 0)),
            request("long-b", (1, 0.01), (11, 0.01)),
            request("mid", (1, 0), (7, 0)),
        ]
        arriving = offer("o", (0, 0), (12, 0), seats=2)
        incremental = match_arriving_offer(arriving, waiting)
        assert [a.request_id for a in incremental] == ["long-a", "long-b"]
        assert match(waiting, [arriving]) == incremental

    def test_a_seat_freed_on_a_full_offer_goes_to_the_longest_waiting_trip(self):
        # The book's offer was full; one rider cancels, so it arrives again with one free seat.
        waiting = [request("short", (1, 0), (3, 0)), request("long", (1, 0), (11, 0))]
        freed = offer("o", (0, 0), (12, 0), seats=1)
        assert [a.request_id for a in match_arriving_offer(freed, waiting)] == ["long"]


class TestStreamsOfArrivals:
    @settings(max_examples=examples(25), deadline=None)
    @given(seeds, st.integers(0, 40), st.integers(0, 12))
    def test_each_arrival_of_a_stream_equals_the_batch_and_keeps_the_book_settled(self, seed, request_count, offer_count):
        arrivals, book = settled_book(seed, request_count, offer_count)
        for _ in range(20):
            if arrivals.rng.random() < 0.6:
                arriving = arrivals.request()
                incremental = match_arriving_request(arriving, book.candidate_offers(arriving))
                expected = match(book.requests + [arriving], book.offers)
                assert expected == ([incremental] if incremental else [])
                book.requests.append(arriving)
                book.apply(expected)
            else:
                arriving = arrivals.offer()
                incremental = match_arriving_offer(arriving, book.candidate_requests(arriving))
                assert match(book.requests, book.offers + [arriving]) == incremental
                book.offers.append(arriving)
                book.apply(incremental)
            assert match(book.requests, book.offers) == []

    def test_a_seeded_city_book_matches_arrival_by_arrival(self):
        """A larger book (600 requests, 250 offers) and 150 arrivals, many of them matched."""
        arrivals, book = settled_book(2026, 600, 250)
        matched_requests = seated_riders = 0
        for step in range(150):
            if step % 3:
                arriving = arrivals.request()
                incremental = match_arriving_request(arriving, book.candidate_offers(arriving))
                assert match(book.requests + [arriving], book.offers) == ([incremental] if incremental else [])
                book.requests.append(arriving)
                book.apply([incremental] if incremental else [])
                matched_requests += incremental is not None
            else:
                arriving = arrivals.offer()
                incremental = match_arriving_offer(arriving, book.candidate_requests(arriving))
                assert match(book.requests, book.offers + [arriving]) == incremental
                book.offers.append(arriving)
                book.apply(incremental)
                seated_riders += len(incremental)
        # Guards the comparisons above against a vacuous stream.
        assert matched_requests >= 5 and seated_riders >= 5, (matched_requests, seated_riders)


def test_the_random_arrivals_do_choose_among_offers_and_compete_for_seats():
    """Guards the properties above against vacuous books: over 40 seeds, some arriving requests have
    several feasible offers to choose from (books with many offers), and some arriving offers more
    feasible riders than seats (books with many requests)."""
    choosing = oversubscribed = 0
    for seed in range(40):
        arrivals, book = settled_book(seed, 20, 20)
        for _ in range(5):
            arriving = arrivals.request()
            choosing += len(find_candidates([arriving], book.candidate_offers(arriving))) >= 2
        arrivals, book = settled_book(seed, 40, 12)
        for _ in range(5):
            arriving = arrivals.offer()
            oversubscribed += len(find_candidates(book.candidate_requests(arriving), [arriving])) > arriving.seats
    assert choosing >= 5 and oversubscribed >= 5, (choosing, oversubscribed)


class TestFootprints:
    @settings(max_examples=examples(40), deadline=None)
    @given(seeds, st.integers(1, 40), st.integers(1, 12))
    def test_every_feasible_pair_passes_the_box_query(self, seed, request_count, offer_count):
        book = Arrivals(seed).book(request_count, offer_count)
        footprints = offer_footprints(book.offers)
        feasible = brute_force_pairs(book.requests, book.offers)
        by_id = {o.id: footprint for o, footprint in zip(book.offers, footprints)}
        requests = {r.id: r for r in book.requests}
        for request_id, offer_id in feasible:
            assert by_id[offer_id].admits(requests[request_id])

    def test_the_boxes_are_the_route_widened_by_the_radii(self):
        east = offer("o", (0, 0), (12, 0), depart=T0, flexibility=600)
        footprint = offer_footprint(east, pickup_radius_m=1_000, dropoff_radius_m=3_000)
        lat = at(0, 0).lat
        metres_per_degree_lon = METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))
        assert footprint.pickup_box.min_lat == pytest.approx(lat - 1_000 / METRES_PER_DEGREE_LAT, abs=1e-8)
        assert footprint.pickup_box.max_lat == pytest.approx(lat + 1_000 / METRES_PER_DEGREE_LAT, abs=1e-8)
        assert footprint.dropoff_box.max_lat == pytest.approx(lat + 3_000 / METRES_PER_DEGREE_LAT, abs=1e-8)
        assert footprint.pickup_box.min_lon == pytest.approx(at(0, 0).lon - 1_000 / metres_per_degree_lon, abs=1e-6)
        assert footprint.dropoff_box.max_lon == pytest.approx(at(12, 0).lon + 3_000 / metres_per_degree_lon, abs=1e-6)
        # Pickups from the earliest departure until the latest one plus a drive of 13 km at up to
        # 1.3 x great-circle, at 25 km/h: about 2,440 s.
        assert footprint.pickup_from == T0
        assert T0 + 600 + 2_400 < footprint.pickup_until < T0 + 600 + 2_500

    def test_points_outside_the_boxes_or_windows_are_not_admitted(self):
        footprint = offer_footprint(offer("o", (0, 0), (12, 0)))
        assert footprint.admits(request("on-route", (3, 0.5), (9, -0.5)))
        assert not footprint.admits(request("pickup-too-far", (3, 2.5), (9, 0)))
        assert not footprint.admits(request("dropoff-too-far", (3, 0), (15, 0)))
        assert not footprint.admits(request("too-late", (3, 0), (9, 0), earliest=T0 + 4 * 3_600))
        assert not footprint.admits(request("too-early", (3, 0), (9, 0), earliest=T0 - 3_600, window=600))

    def test_a_box_is_a_plain_closed_interval_in_each_coordinate(self):
        box = LatLonBox(45.0, 46.0, 4.0, 5.0)
        assert box.contains(LatLon(45.0, 5.0)) and box.contains(LatLon(45.5, 4.5))
        assert not box.contains(LatLon(44.99, 4.5)) and not box.contains(LatLon(45.5, 5.01))

    def test_footprints_near_a_pole_or_across_the_antimeridian_are_refused(self):
        with pytest.raises(ValueError, match="beyond \\+/-80"):
            offer_footprint(Offer("o", LatLon(79.995, 10.0), LatLon(79.995, 10.2), T0, T0 + 600, 1, 1_000))
        with pytest.raises(ValueError, match="antimeridian"):
            offer_footprint(Offer("o", LatLon(-17.7, -179.99), LatLon(-17.75, -179.9), T0, T0 + 600, 1, 1_000))
        with pytest.raises(ValueError, match="antimeridian"):
            match_arriving_request(request("r", (0, 0), (1, 0)), [Offer("o", LatLon(10, 179.999), LatLon(10.1, 179.9), T0, T0 + 60, 1, 1.0)])


def test_the_shared_distance_model_is_the_default():
    # The incremental functions and the batch default to the same great-circle model.
    arriving = request("r", (3, 0.2), (9, 0.1))
    on_route = [offer("o", (0, 0), (12, 0))]
    assert match_arriving_request(arriving, on_route, DISTANCE) == match_arriving_request(arriving, on_route)
