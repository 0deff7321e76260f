import dataclasses

import pytest
from eth_utils import keccak
from hypothesis import assume, given, strategies as st

from coopride.domain.geo import LatLon, haversine_m
from coopride.domain.traces import Fix, TraceCheck, canonical_trace_bytes, check_trace, trace_hash

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
