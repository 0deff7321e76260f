import dataclasses

import pytest
from eth_utils import keccak
from hypothesis import assume, given, strategies as st

import math

from coopride.domain.geo import EARTH_RADIUS_M, LatLon, haversine_m
from coopride.domain.traces import (
    DEFAULT_MIN_DISPLACEMENT_M,
    BookingCheck,
    Fix,
    TraceCheck,
    canonical_trace_bytes,
    check_booking_on_trace,
    check_trace,
    passages,
    time_spans_overlap,
    trace_hash,
)

from trace_builders import BELLECOUR, straight_trace


def raw_length(fixes):
    return sum(haversine_m((a.lat, a.lon), (b.lat, b.lon)) for a, b in zip(fixes, fixes[1:]))


# Random plausible trips around Lyon: 3-30 fixes, 1-60 s apart, each step at most ~100 km/h.
@st.composite
def plausible_traces(draw, min_fixes=3, max_fixes=30):
    count = draw(st.integers(min_fixes, max_fixes))
    t, lat, lon = 1_800_000_000, draw(st.floats(45.70, 45.80)), draw(st.floats(4.80, 4.90))
    fixes = [Fix(t, lat, lon)]
    for _ in range(count - 1):
        seconds = draw(st.integers(1, 60))
        t += seconds
        lat += draw(st.floats(-1, 1)) * seconds * 2e-4
        lon += draw(st.floats(-1, 1)) * seconds * 2e-4
        fixes.append(Fix(t, lat, lon))
    return fixes


class TestCanonicalForm:
    def test_encodes_each_fix_with_six_decimals_joined_by_semicolons(self):
        fixes = [Fix(1_800_000_000, 45.7578, 4.832), Fix(1_800_000_010, -0.5, -73.1234567)]
        assert canonical_trace_bytes(fixes) == b"1800000000,45.757800,4.832000;1800000010,-0.500000,-73.123457"

    def test_hash_is_keccak_of_the_canonical_bytes(self, drive_north):
        digest = trace_hash(drive_north)
        assert len(digest) == 32
        assert digest == keccak(canonical_trace_bytes(drive_north))

    def test_hash_changes_when_a_fix_moves_by_a_micro_degree(self, drive_north):
        moved = list(drive_north)
        moved[3] = dataclasses.replace(moved[3], lat=moved[3].lat + 1e-6)
        assert trace_hash(moved) != trace_hash(drive_north)

    def test_an_invalid_fix_cannot_be_hashed(self):
        with pytest.raises(ValueError, match="fix 1: lat must be within"):
            trace_hash([Fix(1, 45, 4), Fix(2, 91, 4)])


class TestCheckTrace:
    def test_a_clean_one_kilometre_drive_is_accepted_with_its_length(self, drive_north):
        check = check_trace(drive_north, pickup=BELLECOUR, dropoff=LatLon(drive_north[-1].lat, drive_north[-1].lon))
        assert raw_length(drive_north) == pytest.approx(1000)
        assert check == TraceCheck(
            verified_metres=int(raw_length(drive_north)), zeroed_metres=0, start_time=drive_north[0].t, end_time=drive_north[-1].t, accepted=True, reasons=()
        )
        assert check.explanations == ()

    def test_too_few_fixes_is_rejected(self, drive_north):
        check = check_trace(drive_north[:2])
        assert not check.accepted and check.reasons == ("too_few_fixes",)
        assert "fewer fixes" in check.explanations[0]

    def test_duplicated_timestamp_is_rejected_as_out_of_order(self, drive_north):
        fixes = list(drive_north)
        fixes[4] = dataclasses.replace(fixes[4], t=fixes[3].t)
        check = check_trace(fixes)
        assert not check.accepted and "out_of_order" in check.reasons

    def test_a_teleport_is_zeroed_but_the_rest_still_counts(self, drive_north):
        # Fix 5 jumps 30 km east for one sample: two segments at ~10 000 km/h.
        fixes = list(drive_north)
        fixes[5] = dataclasses.replace(fixes[5], lon=fixes[5].lon + 0.4)
        check = check_trace(fixes)
        assert check.accepted
        assert check.reasons == ("speed_jump",)
        kept = raw_length(drive_north[:5]) + raw_length(drive_north[6:])
        assert kept == pytest.approx(800)
        assert check.verified_metres == int(kept)
        assert check.zeroed_metres == int(raw_length(fixes) - kept)
        assert check.zeroed_metres > 60_000

    def test_a_segment_just_under_200_kmh_counts_and_just_over_is_zeroed(self):
        under = straight_trace(fixes=3, step_m=55.0, step_s=1)  # 198 km/h
        over = straight_trace(fixes=3, step_m=56.0, step_s=1)  # 201.6 km/h
        assert check_trace(under).verified_metres == int(raw_length(under)) and check_trace(under).reasons == ()
        assert check_trace(over).verified_metres == 0
        assert check_trace(over).reasons == ("speed_jump", "zero_distance")

    def test_standing_still_with_gps_drift_is_not_counted(self):
        drift = straight_trace(fixes=6, step_m=3.0, step_s=30)  # 0.36 km/h
        check = check_trace(drift)
        assert check.verified_metres == 0 and check.zeroed_metres == int(raw_length(drift))
        assert check.reasons == ("stationary_drift", "zero_distance") and not check.accepted

    def test_pickup_far_from_the_booking_is_rejected(self, drive_north):
        booked_pickup = LatLon(BELLECOUR.lat - 0.004, BELLECOUR.lon)  # ~445 m south
        check = check_trace(drive_north, pickup=booked_pickup)
        assert not check.accepted and check.reasons == ("pickup_far_from_booking",)

    def test_dropoff_far_from_the_booking_is_rejected(self, drive_north):
        check = check_trace(drive_north, dropoff=BELLECOUR)  # the trip ended 1 km north
        assert not check.accepted and check.reasons == ("dropoff_far_from_booking",)

    def test_endpoint_gap_tolerance_is_configurable(self, drive_north):
        assert check_trace(drive_north, dropoff=BELLECOUR, max_endpoint_gap_m=1_100).accepted

    @pytest.mark.parametrize(
        "bad_fix",
        [Fix(1_800_000_005, float("nan"), 4.8), Fix(1_800_000_005, 45.7, 181.0), Fix(-1, 45.7, 4.8), Fix(1.5, 45.7, 4.8)],
    )
    def test_invalid_coordinates_or_times_are_rejected(self, drive_north, bad_fix):
        check = check_trace([drive_north[0], bad_fix, *drive_north[1:]])
        assert not check.accepted and check.reasons == ("invalid_coordinate",)


class TestTraceProperties:
    @given(plausible_traces())
    def test_plausible_traces_are_accepted_and_verify_at_most_their_raw_length(self, fixes):
        check = check_trace(fixes, min_moving_speed_kmh=0)
        assert check.verified_metres <= raw_length(fixes)
        assert check.verified_metres + check.zeroed_metres <= raw_length(fixes) + 1e-6
        assert check.accepted == (check.verified_metres > 0)

    @given(plausible_traces(), st.randoms())
    def test_any_reordering_of_the_fixes_is_rejected(self, fixes, random):
        shuffled = list(fixes)
        random.shuffle(shuffled)
        assume(shuffled != fixes)
        assert not check_trace(shuffled).accepted
        assert "out_of_order" in check_trace(shuffled).reasons

    @given(plausible_traces(), st.data())
    def test_inserting_a_jump_never_adds_verified_distance(self, fixes, data):
        gaps = [i for i in range(1, len(fixes)) if fixes[i].t - fixes[i - 1].t >= 2]
        assume(gaps)
        index = data.draw(st.sampled_from(gaps))
        before, after = fixes[index - 1], fixes[index]
        t = data.draw(st.integers(before.t + 1, after.t - 1))
        offset = data.draw(st.floats(0.5, 5.0)) * data.draw(st.sampled_from([-1, 1]))
        jumped = [*fixes[:index], Fix(t, before.lat, before.lon + offset), *fixes[index:]]
        assert check_trace(jumped).verified_metres <= check_trace(fixes).verified_metres
        assert "speed_jump" in check_trace(jumped).reasons

    @given(plausible_traces())
    def test_verified_distance_never_implies_more_than_200_kmh_on_average(self, fixes):
        check = check_trace(fixes)
        assert check.verified_metres <= 200 / 3.6 * (check.end_time - check.start_time)


# ------------------------------------------------------------------------------ a parked car earns nothing
METRES_PER_DEGREE_LAT = math.radians(1) * EARTH_RADIUS_M
RADIUS = DEFAULT_MIN_DISPLACEMENT_M


def offset(point: LatLon, east_m: float, north_m: float) -> LatLon:
    return LatLon(point.lat + north_m / METRES_PER_DEGREE_LAT,
                  point.lon + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(point.lat))))


@st.composite
def parked(draw, at=BELLECOUR, t0=1_800_000_000, min_fixes=3, max_fixes=60, wander_m=0.45 * RADIUS):
    """A parked car's fixes: GPS noise anywhere within `wander_m` of where it stands, 1-60 s apart."""
    fixes, t = [], t0
    for _ in range(draw(st.integers(min_fixes, max_fixes))):
        distance, angle = draw(st.floats(0, wander_m)), draw(st.floats(0, 2 * math.pi))
        point = offset(at, distance * math.cos(angle), distance * math.sin(angle))
        fixes.append(Fix(t, point.lat, point.lon))
        t += draw(st.integers(1, 60))
    return fixes


class TestFlaggedSegmentsEarnNothing:
    def test_a_parked_car_with_gps_noise_earns_nothing(self):
        """The outside client's case: a parked car whose fixes jump 10-20 m every 2 s (18-36 km/h, a plausible
        speed) for 10 minutes was flagged and still credited 1,861 m."""
        fixes = []
        for i in range(300):
            east, north = (15 if i % 2 else -5), (10 if i % 3 else -8)
            point = offset(BELLECOUR, east, north)
            fixes.append(Fix(1_800_000_000 + 2 * i, point.lat, point.lon))
        check = check_trace(fixes, pickup=BELLECOUR)
        assert haversine_m((fixes[0].lat, fixes[0].lon), (fixes[1].lat, fixes[1].lon)) > 10  # each hop "moves"
        assert check.verified_metres == 0 and check.zeroed_metres == int(raw_length(fixes))
        assert check.reasons == ("stationary_drift", "zero_distance") and not check.accepted

    @given(parked())
    def test_a_parked_car_earns_nothing_however_its_fixes_wander_within_the_radius(self, fixes):
        check = check_trace(fixes)
        assert check.verified_metres == 0 and not check.accepted
        assert "zero_distance" in check.reasons
        if raw_length(fixes) > RADIUS:
            assert "stationary_drift" in check.reasons

    @given(st.integers(3, 40), st.data())
    def test_parking_after_a_drive_adds_at_most_half_the_radius(self, steps, data):
        drive = straight_trace(fixes=steps, step_m=data.draw(st.floats(5, 150)), step_s=10)
        end = LatLon(drive[-1].lat, drive[-1].lon)
        stay = data.draw(parked(at=end, t0=drive[-1].t + 1, min_fixes=1))
        check = check_trace(drive + stay)
        assert check.verified_metres <= raw_length(drive) + RADIUS / 2

    @given(st.floats(RADIUS * 1.0001, 1_000), st.integers(3, 30), st.integers(1, 60))
    def test_a_drive_in_steps_of_the_radius_or_more_earns_all_its_length(self, step_m, fixes, step_s):
        assume(step_m / step_s < 200 / 3.6 and step_m / step_s > 2 / 3.6)
        drive = straight_trace(fixes=fixes, step_m=step_m, step_s=step_s)
        check = check_trace(drive)
        assert check.verified_metres in (int(raw_length(drive)), int(raw_length(drive)) - 1)
        assert check.reasons == () and check.accepted

    @given(st.floats(1, RADIUS), st.integers(3, 200))
    def test_a_finely_sampled_drive_earns_its_length_less_at_most_one_radius(self, step_m, fixes):
        drive = straight_trace(fixes=fixes, step_m=step_m, step_s=1)
        check = check_trace(drive, min_moving_speed_kmh=0)
        assert raw_length(drive) - RADIUS - 1 <= check.verified_metres <= raw_length(drive)
        assert "stationary_drift" not in check.reasons

    def test_a_spike_earns_nothing_and_moves_nothing(self, drive_north):
        spiked = list(drive_north)
        spiked[5] = dataclasses.replace(spiked[5], lon=spiked[5].lon + 0.4)
        check = check_trace(spiked)
        assert check.verified_metres == pytest.approx(800, abs=1)  # the two segments around the spike earn nothing
        assert check.reasons == ("speed_jump",) and check.accepted

    def test_a_step_across_a_jump_earns_nothing(self):
        """A teleport that does not come back: the step that holds it earns nothing, the drive after it does."""
        here = straight_trace(fixes=5, step_m=100, step_s=10)
        there = straight_trace(LatLon(45.9, 4.9), fixes=5, step_m=100, step_s=10, t0=here[-1].t + 10)
        check = check_trace(here + there)
        assert check.verified_metres == pytest.approx(800, abs=1) and "speed_jump" in check.reasons


# ------------------------------------------------------------------------------ a booking on the trace
def point_of(fix: Fix) -> LatLon:
    return LatLon(fix.lat, fix.lon)


class TestBookingOnTrace:
    """2 km due north from Bellecour, a fix every 100 m / 10 s; picked up at fix 5, dropped at fix 15."""

    @pytest.fixture
    def drive(self):
        return straight_trace(fixes=21)

    def test_a_pickup_and_drop_off_along_the_way_are_on_the_trace(self, drive):
        check = check_booking_on_trace(drive, point_of(drive[5]), point_of(drive[15]))
        assert check.accepted and check.reason is None and check.reasons == ()
        # the first moment within 300 m of the pickup, the last within 300 m of the drop-off
        assert check.pickup_at == pytest.approx(drive[2].t, abs=0.5)
        assert check.dropoff_at == pytest.approx(drive[18].t, abs=0.5)

    def test_recorded_times_are_placed_on_the_trace(self, drive):
        check = check_booking_on_trace(drive, point_of(drive[5]), point_of(drive[15]), pickup_time=drive[5].t,
                                       dropoff_time=drive[15].t)
        assert check.accepted and (check.pickup_at, check.dropoff_at) == (drive[5].t, drive[15].t)

    def test_a_pickup_away_from_the_trace_is_refused(self, drive):
        aside = offset(point_of(drive[5]), 400, 0)
        check = check_booking_on_trace(drive, aside, point_of(drive[15]))
        assert not check.accepted and check.reason == "pickup_not_on_trace"
        assert "never passes" in check.explanations[0]
        assert check_booking_on_trace(drive, aside, point_of(drive[15]), tolerance_m=450).accepted

    def test_a_drop_off_away_from_the_trace_is_refused(self, drive):
        check = check_booking_on_trace(drive, point_of(drive[5]), offset(point_of(drive[-1]), 0, 500))
        assert check.reasons == ("dropoff_not_on_trace",)

    def test_a_drop_off_before_the_pickup_is_refused(self, drive):
        check = check_booking_on_trace(drive, point_of(drive[15]), point_of(drive[5]))
        assert check.reasons == ("dropoff_before_pickup",)

    def test_a_trace_that_ends_before_the_pickup_is_refused(self, drive):
        """The outside client's case: the trace passes the pickup point, but it was recorded before the pickup."""
        later = drive[-1].t + 600
        check = check_booking_on_trace(drive, point_of(drive[5]), point_of(drive[15]), pickup_time=later)
        assert check.reasons == ("pickup_outside_trace_time",) and check.pickup_at is None

    def test_a_trace_not_at_the_pickup_at_the_recorded_time_is_refused(self, drive):
        check = check_booking_on_trace(drive, point_of(drive[5]), point_of(drive[15]), pickup_time=drive[15].t)
        assert check.reasons == ("pickup_not_on_trace_at_pickup_time", )

    def test_a_drop_off_recorded_outside_the_trace_or_before_the_pickup_is_refused(self, drive):
        pickup, dropoff = point_of(drive[5]), point_of(drive[15])
        assert check_booking_on_trace(drive, pickup, dropoff, dropoff_time=drive[-1].t + 3_600).reasons == (
            "dropoff_outside_trace_time",)
        assert check_booking_on_trace(drive, pickup, dropoff, pickup_time=drive[5].t, dropoff_time=drive[4].t).reasons \
            == ("dropoff_not_on_trace_at_dropoff_time", "dropoff_before_pickup")

    def test_a_ride_cut_short_places_the_pickup_and_the_end_in_the_span(self, drive):
        assert check_booking_on_trace(drive, point_of(drive[5]), None, dropoff_time=drive[10].t).accepted
        assert check_booking_on_trace(drive, point_of(drive[5]), None, dropoff_time=drive[-1].t + 3_600).reasons == (
            "dropoff_outside_trace_time",)
        assert check_booking_on_trace(drive, point_of(drive[5]), None, pickup_time=drive[5].t,
                                      dropoff_time=drive[1].t).reasons == ("dropoff_before_pickup",)

    @pytest.mark.parametrize("mangle, reason", [
        (lambda fixes: fixes[:2], "too_few_fixes"),
        (lambda fixes: [fixes[1], fixes[0], *fixes[2:]], "out_of_order"),
        (lambda fixes: [*fixes[:3], Fix(fixes[3].t, 95.0, 4.8), *fixes[4:]], "invalid_coordinate"),
    ])
    def test_an_invalid_trace_gives_check_traces_reason(self, drive, mangle, reason):
        assert check_booking_on_trace(mangle(drive), BELLECOUR, None) == BookingCheck(False, (reason,), None, None)

    @given(plausible_traces(), st.data())
    def test_any_two_fixes_in_order_are_a_pickup_and_drop_off_on_the_trace(self, fixes, data):
        i = data.draw(st.integers(0, len(fixes) - 2))
        j = data.draw(st.integers(i + 1, len(fixes) - 1))
        check = check_booking_on_trace(fixes, point_of(fixes[i]), point_of(fixes[j]), pickup_time=fixes[i].t,
                                       dropoff_time=fixes[j].t, tolerance_m=1)
        assert check.accepted, check
        assert check.pickup_at == fixes[i].t and check.dropoff_at == fixes[j].t

    @given(plausible_traces(), st.floats(45.0, 46.5), st.floats(4.0, 5.5), st.floats(10, 500))
    def test_a_point_is_on_the_trace_exactly_when_some_fix_or_segment_comes_that_close(self, fixes, lat, lon, tolerance):
        point = LatLon(lat, lon)
        found = passages(fixes, point, tolerance)
        nearest_fix = min(haversine_m(point, point_of(f)) for f in fixes)
        if nearest_fix <= tolerance * 0.999:
            assert found
        # every passage is within the trace's span, in order, and disjoint
        assert all(fixes[0].t <= start <= end <= fixes[-1].t for start, end in found)
        assert all(a[1] < b[0] for a, b in zip(found, found[1:]))
        for start, end in found:  # the trace at each passage's middle is within the tolerance (0.5 % slack)
            middle = (start + end) / 2
            k = max(i for i, f in enumerate(fixes) if f.t <= middle)
            if k == len(fixes) - 1:
                at = point_of(fixes[k])
            else:
                share = (middle - fixes[k].t) / (fixes[k + 1].t - fixes[k].t)
                at = LatLon(fixes[k].lat + share * (fixes[k + 1].lat - fixes[k].lat),
                            fixes[k].lon + share * (fixes[k + 1].lon - fixes[k].lon))
            assert haversine_m(point, at) <= tolerance * 1.005 + 0.01


# ------------------------------------------------------------------------------ overlapping time spans
spans = st.tuples(st.integers(0, 50), st.integers(0, 50)).map(lambda s: (min(s), max(s)))


class TestTimeSpansOverlap:
    @pytest.mark.parametrize("first, second, overlap", [
        ((0, 10), (5, 15), True),
        ((0, 10), (2, 3), True),
        ((0, 10), (10, 20), False),  # one ends as the next starts
        ((0, 10), (11, 20), False),
        ((5, 5), (0, 10), False),  # an empty span
        ((0, 10), (0, 10), True),
    ])
    def test_examples(self, first, second, overlap):
        assert time_spans_overlap(first, second) is overlap
        assert time_spans_overlap(second, first) is overlap

    def test_a_span_that_ends_before_it_starts_is_refused(self):
        with pytest.raises(ValueError, match="ends at or after its start"):
            time_spans_overlap((10, 0), (0, 5))

    @given(spans, spans)
    def test_overlap_is_a_moment_inside_both(self, first, second):
        inside_both = any(first[0] <= t < first[1] and second[0] <= t < second[1] for t in range(51))
        assert time_spans_overlap(first, second) == inside_both == time_spans_overlap(second, first)

    @given(spans, spans, st.integers(-100, 100))
    def test_shifting_both_spans_alike_changes_nothing(self, first, second, shift):
        moved = [(a + shift, b + shift) for a, b in (first, second)]
        assert time_spans_overlap(*moved) == time_spans_overlap(first, second)
