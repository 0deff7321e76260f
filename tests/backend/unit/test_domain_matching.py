import math

import numpy as np
from fuzz_budget import examples
import pytest
from hypothesis import given, settings, strategies as st

from coopride.domain import matching as matching_module
from coopride.domain.geo import AVERAGE_CITY_SPEED_MPS, EARTH_RADIUS_M, GreatCircleDistance, LatLon, Projection, haversine_m
from coopride.domain.matching import (
    Offer,
    Request,
    find_candidates,
    match,
    match_first_come,
    match_optimal,
    total_shared_metres,
)

T0 = 1_800_000_000
LYON = Projection(LatLon(45.76, 4.85))
DISTANCE = GreatCircleDistance()
seeds = st.integers(0, 2**32 - 1)


def at(x_km: float, y_km: float) -> LatLon:
    """A point `x_km` east and `y_km` north of the reference point in Lyon."""
    return LatLon(*LYON.to_latlon(np.array([[x_km * 1000, y_km * 1000]]))[0])


def offer(id, start, end, *, seats=1, max_detour_m=1_500, depart=T0, flexibility=600):
    return Offer(id, at(*start), at(*end), depart, depart + flexibility, seats, max_detour_m)


def request(id, start, end, *, earliest=T0, window=1_800):
    return Request(id, at(*start), at(*end), earliest, earliest + window)


def instance(seed: int, request_count: int, offer_count: int, people: int = 0):
    """A small random city (6 x 6 km, one hour) dense enough for riders to compete for seats.

    With `people`, every request and offer belongs to one of that many people (so some riders
    could be matched with their own offers)."""
    rng = np.random.default_rng(seed)

    def point():
        return at(*rng.uniform(-3, 3, 2))

    def person():
        return f"person-{rng.integers(0, people)}" if people else None

    requests = []
    for i in range(request_count):
        earliest = T0 + int(rng.integers(0, 3_600))
        requests.append(Request(i, point(), point(), earliest, earliest + int(rng.integers(0, 1_800)), rider=person()))
    offers = []
    for j in range(offer_count):
        depart = T0 + int(rng.integers(0, 3_600))
        offers.append(
            Offer(f"o{j}", point(), point(), depart, depart + int(rng.integers(0, 1_200)), int(rng.integers(1, 4)), float(rng.uniform(0, 4_000)), driver=person())
        )
    return requests, offers


def gap_to_route(point, o) -> float:
    """Metres from a point to the offer's straight route, in the offer's local projection
    (equirectangular around the midpoint of its origin and destination), with scalar maths."""
    centre_lat, centre_lon = (o.origin.lat + o.destination.lat) / 2, (o.origin.lon + o.destination.lon) / 2
    metres_per_degree = math.radians(1) * EARTH_RADIUS_M

    def xy(p):
        return ((p[1] - centre_lon) * metres_per_degree * math.cos(math.radians(centre_lat)), (p[0] - centre_lat) * metres_per_degree)

    (px, py), (ax, ay), (bx, by) = xy(point), xy(o.origin), xy(o.destination)
    length_squared = (bx - ax) ** 2 + (by - ay) ** 2
    along = 0.0 if length_squared == 0 else min(1.0, max(0.0, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / length_squared))
    return math.hypot(px - (ax + along * (bx - ax)), py - (ay + along * (by - ay)))


def brute_force_pairs(requests, offers, pickup_radius_m=2_000, dropoff_radius_m=2_000, distance=DISTANCE):
    """Every feasible (request, offer) pair by checking all of them one by one, with scalar maths."""
    pairs = {}
    for r in requests:
        for o in offers:
            if r.rider is not None and r.rider == o.driver:
                continue
            if gap_to_route(r.origin, o) > pickup_radius_m or gap_to_route(r.destination, o) > dropoff_radius_m:
                continue
            to_pickup = distance.road_metres(o.origin, r.origin)
            detour = to_pickup + distance.road_metres(r.origin, r.destination) + distance.road_metres(r.destination, o.destination) - distance.road_metres(o.origin, o.destination)
            travel = math.ceil(to_pickup / AVERAGE_CITY_SPEED_MPS)
            pickup = max(o.depart_earliest + travel, r.earliest)
            if detour <= o.max_detour_m and pickup <= min(o.depart_latest + travel, r.latest):
                pairs[(r.id, o.id)] = (max(0.0, detour), pickup)
    return pairs


def assert_feasible(assignments, requests, offers):
    feasible = brute_force_pairs(requests, offers)
    by_request = {r.id: r for r in requests}
    riders_per_offer = {}
    assert len({a.request_id for a in assignments}) == len(assignments), "a request was assigned twice"
    for a in assignments:
        assert (a.request_id, a.offer_id) in feasible
        detour, pickup = feasible[(a.request_id, a.offer_id)]
        assert a.detour_metres == pytest.approx(detour, abs=1e-6)
        assert a.pickup_time == pickup
        r = by_request[a.request_id]
        assert r.earliest <= a.pickup_time <= r.latest
        assert a.shared_metres == pytest.approx(DISTANCE.road_metres(r.origin, r.destination))
        riders_per_offer[a.offer_id] = riders_per_offer.get(a.offer_id, 0) + 1
    for o in offers:
        assert riders_per_offer.get(o.id, 0) <= o.seats


class TestFeasibility:
    def test_a_rider_near_the_middle_of_a_long_route_is_found(self):
        # The route runs 12 km east; the rider joins 5 km from the driver's origin, far beyond the
        # 2 km search radius around it.
        [assignment] = match([request("r", (5, 0.3), (9, 0.2))], [offer("o", (0, 0), (12, 0))])
        assert assignment.offer_id == "o"
        assert assignment.detour_metres < 1_500
        assert assignment.pickup_time == T0 + math.ceil(DISTANCE.road_metres(at(0, 0), at(5, 0.3)) / AVERAGE_CITY_SPEED_MPS)

    def test_a_rider_going_the_other_way_is_not_matched(self):
        assert match([request("r", (9, 0), (5, 0))], [offer("o", (0, 0), (12, 0))]) == []

    def test_a_detour_beyond_the_drivers_tolerance_is_not_matched(self):
        off_route = request("r", (5, 1.5), (9, 1.5))  # 1.5 km off the road: a detour of ~746 m
        assert match([off_route], [offer("o", (0, 0), (12, 0), max_detour_m=700)]) == []
        assert match([off_route], [offer("o", (0, 0), (12, 0), max_detour_m=800)])[0].detour_metres == pytest.approx(
            1.3 * (math.hypot(5, 1.5) + 4 + math.hypot(3, 1.5) - 12) * 1000, rel=5e-3
        )

    def test_a_rider_whose_window_closes_before_the_driver_arrives_is_not_matched(self):
        # The driver needs ~15 min to cover 5 km; the rider waits only 10 min from T0.
        late = offer("o", (0, 0), (12, 0), flexibility=0)
        assert match([request("r", (5, 0), (9, 0), window=600)], [late]) == []
        assert len(match([request("r", (5, 0), (9, 0), window=1_200)], [late])) == 1

    def test_a_driver_leaving_later_picks_up_a_rider_whose_window_opens_later(self):
        [assignment] = match([request("r", (1, 0), (9, 0), earliest=T0 + 3_000)], [offer("o", (0, 0), (12, 0), flexibility=3_600)])
        assert assignment.pickup_time == T0 + 3_000

    def test_pickup_beyond_the_radius_is_not_searched(self):
        far = request("r", (5, 2.5), (9, 0))
        assert match([far], [offer("o", (0, 0), (12, 0), max_detour_m=20_000)]) == []
        assert len(match([far], [offer("o", (0, 0), (12, 0), max_detour_m=20_000)], pickup_radius_m=3_000)) == 1


class TestSeatsAndObjective:
    def test_seats_bound_the_riders_and_the_longest_trips_win(self):
        requests = [request("short", (1, 0), (3, 0)), request("long", (1, 0), (11, 0)), request("mid", (1, 0), (7, 0))]
        assignments = match(requests, [offer("o", (0, 0), (12, 0), seats=2)])
        assert sorted(a.request_id for a in assignments) == ["long", "mid"]

    def test_reshuffling_seats_serves_more_than_first_come(self):
        # "early" could ride with either driver and, first come, takes the nearer one, which is the
        # only car "late" can use; matching moves "early" to the other car.
        requests = [request("early", (1, 0), (4, 0)), request("late", (1, 0), (11, 0))]
        offers = [offer("east", (0, 0), (12, 0)), offer("short-hop", (0, 0.5), (5, 0.5))]
        first_come = match_first_come(requests, offers)
        assert [(a.request_id, a.offer_id) for a in first_come] == [("early", "east")]
        assert {(a.request_id, a.offer_id) for a in match(requests, offers)} == {("early", "short-hop"), ("late", "east")}

    def test_among_free_seats_the_smallest_detour_is_chosen(self):
        [assignment] = match([request("r", (2, 0), (8, 0))], [offer("zigzag", (0, 1.2), (12, 1.2), max_detour_m=5_000), offer("straight", (0, 0), (10, 0))])
        assert assignment.offer_id == "straight"

    def test_no_requests_or_no_offers_match_nothing(self):
        assert match([], [offer("o", (0, 0), (1, 0))]) == []
        assert match([request("r", (0, 0), (1, 0))], []) == []
        assert match_optimal([], []) == []


class TestNobodyRidesWithThemselves:
    def test_a_riders_own_offer_is_never_a_candidate(self):
        own = Offer("own", at(0, 0), at(12, 0), T0, T0 + 600, 2, 1_500, driver="alice")
        assert match([Request("r", at(3, 0.2), at(9, 0.1), T0, T0 + 1_800, rider="alice")], [own]) == []
        assert len(match([Request("r", at(3, 0.2), at(9, 0.1), T0, T0 + 1_800, rider="bob")], [own])) == 1

    def test_the_seat_a_rider_cannot_use_goes_to_someone_else(self):
        # Alice's trip is longer, so a matcher blind to people would seat her in her own car and
        # leave Bob, who can use it, waiting.
        car = Offer("car", at(0, 0), at(12, 0), T0, T0 + 600, 1, 1_500, driver="alice")
        riders = [
            Request("alice-trip", at(1, 0), at(11, 0), T0, T0 + 1_800, rider="alice"),
            Request("bob-trip", at(3, 0), at(8, 0), T0, T0 + 1_800, rider="bob"),
        ]
        assert [(a.request_id, a.offer_id) for a in match(riders, [car])] == [("bob-trip", "car")]
        assert [(a.request_id, a.offer_id) for a in match_optimal(riders, [car])] == [("bob-trip", "car")]

    @settings(max_examples=examples(30), deadline=None)
    @given(seeds, st.integers(1, 40), st.integers(1, 10))
    def test_candidate_search_leaves_out_exactly_the_own_offers(self, seed, request_count, offer_count):
        requests, offers = instance(seed, request_count, offer_count, people=4)
        candidates = find_candidates(requests, offers, DISTANCE)
        found = {(requests[r].id, offers[o].id) for r, o in zip(candidates.request_index, candidates.offer_index)}
        assert found == set(brute_force_pairs(requests, offers))
        assert total_shared_metres(match(requests, offers)) == pytest.approx(total_shared_metres(match_optimal(requests, offers)), abs=1e-6)


class TestValidation:
    def test_duplicate_request_ids_are_refused(self):
        with pytest.raises(ValueError, match="request ids must be unique"):
            match([request("r", (0, 0), (1, 0)), request("r", (0, 0), (2, 0))], [])

    def test_duplicate_offer_ids_are_refused(self):
        with pytest.raises(ValueError, match="offer ids must be unique"):
            match([], [offer("o", (0, 0), (1, 0)), offer("o", (0, 0), (2, 0))])

    @pytest.mark.parametrize(
        "build, message",
        [
            (lambda: offer("o", (0, 0), (1, 0), seats=0), "seats must be an int >= 1"),
            (lambda: offer("o", (0, 0), (1, 0), max_detour_m=-1), "max_detour_m"),
            (lambda: offer("o", (0, 0), (1, 0), flexibility=-1), "depart_earliest must be <= depart_latest"),
            (lambda: request("r", (0, 0), (1, 0), window=-1), "earliest must be <= latest"),
            (lambda: request("r", (1, 1), (1, 1)), "origin and destination must differ"),
            (lambda: Request("r", LatLon(91, 0), LatLon(0, 0), T0, T0), "lat must be within"),
        ],
    )
    def test_invalid_offers_and_requests_are_refused_with_a_reason(self, build, message):
        with pytest.raises(ValueError, match=message):
            build()

    def test_a_non_positive_radius_is_refused(self):
        with pytest.raises(ValueError, match="radius"):
            match([request("r", (0, 0), (1, 0))], [offer("o", (0, 0), (1, 0))], pickup_radius_m=0)




class TestMatchingProperties:
    @settings(max_examples=examples(60), deadline=None)
    @given(seeds, st.integers(1, 25), st.integers(1, 8))
    def test_candidate_search_finds_exactly_the_feasible_pairs(self, seed, request_count, offer_count):
        requests, offers = instance(seed, request_count, offer_count)
        candidates = find_candidates(requests, offers, DISTANCE)
        found = {(requests[r].id, offers[o].id) for r, o in zip(candidates.request_index, candidates.offer_index)}
        assert len(found) == len(candidates)
        assert found == set(brute_force_pairs(requests, offers))

    @settings(max_examples=examples(60), deadline=None)
    @given(seeds, st.integers(1, 30), st.integers(1, 8))
    def test_every_matcher_respects_seats_detours_and_windows(self, seed, request_count, offer_count):
        requests, offers = instance(seed, request_count, offer_count)
        for matcher in (match, match_first_come, match_optimal):
            assert_feasible(matcher(requests, offers), requests, offers)

    @settings(max_examples=examples(100), deadline=None)
    @given(seeds, st.integers(1, 40), st.integers(1, 10))
    def test_match_equals_the_optimum_and_never_trails_first_come(self, seed, request_count, offer_count):
        requests, offers = instance(seed, request_count, offer_count)
        best = total_shared_metres(match(requests, offers))
        assert best == pytest.approx(total_shared_metres(match_optimal(requests, offers)), abs=1e-6)
        assert best >= total_shared_metres(match_first_come(requests, offers)) - 1e-6

    @given(seeds, st.integers(1, 40), st.integers(1, 10))
    def test_the_sparse_optimum_equals_the_dense_one(self, seed, request_count, offer_count):
        requests, offers = instance(seed, request_count, offer_count)
        dense = total_shared_metres(match_optimal(requests, offers))
        sparse_assignments = match_optimal(requests, offers, max_cells=0)
        assert_feasible(sparse_assignments, requests, offers)
        assert total_shared_metres(sparse_assignments) == pytest.approx(dense, abs=1e-6)

    def test_the_random_instances_do_make_riders_compete(self):
        # Guards the properties above against vacuous instances.
        beaten = 0
        for seed in range(40):
            requests, offers = instance(seed, 40, 10)
            if total_shared_metres(match(requests, offers)) > total_shared_metres(match_first_come(requests, offers)) + 1:
                beaten += 1
        assert beaten >= 5


class WindingRoads:
    """A distance model without `circuity`: road metres between 1x and 1.9x great-circle metres,
    varying with the start point. The search may then assume only 1x to 2x."""

    def road_metres(self, a, b) -> float:
        return haversine_m(a, b) * (1.45 + 0.45 * math.sin(1_000 * (a[0] + a[1])))

    def road_metres_array(self, a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return np.array([self.road_metres(tuple(p), tuple(q)) for p, q in zip(a, b)])


class TestCandidateSearch:
    """The grid search must return exactly the feasible pairs, whatever its internal bucketing."""

    @staticmethod
    def found(requests, offers, **keywords):
        candidates = find_candidates(requests, offers, **keywords)
        pairs = {(requests[r].id, offers[o].id) for r, o in zip(candidates.request_index, candidates.offer_index)}
        assert len(pairs) == len(candidates), "a pair was found twice"
        return pairs, candidates

    @settings(max_examples=examples(5), deadline=None)
    @given(seeds)
    def test_a_crowded_book_gives_exactly_the_feasible_pairs(self, seed):
        requests, offers = instance(seed, 300, 120)
        pairs, candidates = self.found(requests, offers)
        assert len(pairs) > 50
        assert pairs == set(brute_force_pairs(requests, offers))
        # Sorted by request, then detour, then pickup time, then offer position.
        keys = list(zip(candidates.request_index, candidates.detour_metres, candidates.pickup_time, candidates.offer_index))
        assert keys == sorted(keys)

    @settings(max_examples=examples(5), deadline=None)
    @given(seeds)
    def test_small_blocks_coarse_time_slots_and_sparse_buckets_find_the_same_pairs(self, seed):
        requests, offers = instance(seed, 150, 60)
        expected, _ = self.found(requests, offers)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(matching_module, "_OFFERS_PER_BLOCK", 7)
            patch.setattr(matching_module, "_MAX_SLOT_TABLE", 64)
            patch.setattr(matching_module, "_MAX_DENSE_BUCKETS", 0)
            assert self.found(requests, offers)[0] == expected

    @settings(max_examples=examples(5), deadline=None)
    @given(seeds)
    def test_unequal_radii_and_a_model_without_circuity_give_exactly_the_feasible_pairs(self, seed):
        requests, offers = instance(seed, 120, 40)
        distance = WindingRoads()
        pairs, _ = self.found(requests, offers, distance=distance, pickup_radius_m=1_200, dropoff_radius_m=2_600)
        assert pairs == set(brute_force_pairs(requests, offers, 1_200, 2_600, distance=distance))

    def test_a_pair_is_decided_the_same_whatever_else_is_in_the_book(self):
        requests, offers = instance(7, 200, 60)
        _, whole = self.found(requests, offers)
        for r, o, detour, pickup in list(zip(whole.request_index, whole.offer_index, whole.detour_metres, whole.pickup_time))[:40]:
            _, alone = self.found([requests[r]], [offers[o]])
            assert (alone.detour_metres[0], alone.pickup_time[0]) == (detour, pickup)


class TestUnsupportedGeography:
    def test_offers_beyond_80_degrees_of_latitude_are_refused(self):
        polar = Offer("o", LatLon(79.995, 10.0), LatLon(79.995, 10.2), T0, T0 + 600, 1, 1_000)
        with pytest.raises(ValueError, match="beyond \\+/-80"):
            match([Request("r", LatLon(79.99, 10.05), LatLon(79.99, 10.1), T0, T0 + 600)], [polar])

    def test_requests_beyond_80_degrees_of_latitude_are_refused(self):
        with pytest.raises(ValueError, match="beyond \\+/-80"):
            match([Request("r", LatLon(81.0, 10.05), LatLon(81.0, 10.1), T0, T0 + 600)], [offer("o", (0, 0), (1, 0))])

    def test_a_corridor_across_the_antimeridian_is_refused(self):
        dateline = Offer("o", LatLon(-17.7, 179.99), LatLon(-17.75, 179.9), T0, T0 + 600, 1, 1_000)
        with pytest.raises(ValueError, match="antimeridian"):
            match([Request("r", LatLon(-17.71, 179.95), LatLon(-17.74, 179.92), T0, T0 + 600)], [dateline])
