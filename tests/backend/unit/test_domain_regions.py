import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from coopride.domain.geo import LatLon, Projection, haversine_m
from coopride.domain.regions import DEFAULT_REGION_MAP, RegionArea, RegionMap, circle


class TestDefaultRegions:
    def test_place_guichard_is_in_lyon_3e(self):
        assert DEFAULT_REGION_MAP.region_of(LatLon(45.7597, 4.8470)) == 1

    def test_villeurbanne_gratte_ciel_is_in_villeurbanne(self):
        assert DEFAULT_REGION_MAP.region_of(LatLon(45.7690, 4.8800)) == 2

    def test_paris_is_in_no_region(self):
        assert DEFAULT_REGION_MAP.region_of(LatLon(48.8566, 2.3522)) is None

    def test_a_point_in_both_discs_goes_to_the_nearest_centre(self):
        lyon, villeurbanne = DEFAULT_REGION_MAP.area(1), DEFAULT_REGION_MAP.area(2)
        just_west_of_midpoint = LatLon(
            (lyon.center.lat + villeurbanne.center.lat) / 2, (lyon.center.lon + villeurbanne.center.lon) / 2 - 0.002
        )
        assert DEFAULT_REGION_MAP.region_of(just_west_of_midpoint) == 1

    def test_invalid_point_is_refused_with_a_reason(self):
        with pytest.raises(ValueError, match="lat must be within"):
            DEFAULT_REGION_MAP.region_of(LatLon(95, 4.8))

    def test_unknown_region_id_raises_key_error(self):
        assert 3 not in DEFAULT_REGION_MAP
        with pytest.raises(KeyError, match="unknown region id 3"):
            DEFAULT_REGION_MAP.area(3)


class TestRegionMapValidation:
    def test_duplicate_ids_are_refused(self):
        area = RegionArea(7, "A", LatLon(0, 0), 100)
        with pytest.raises(ValueError, match=r"duplicate region ids: \[7\]"):
            RegionMap([area, RegionArea(7, "B", LatLon(1, 1), 100)])

    @pytest.mark.parametrize(
        "region_id, name, center, radius, message",
        [
            (0, "A", LatLon(0, 0), 100, "region_id"),
            (2**32, "A", LatLon(0, 0), 100, "region_id"),
            (1, "", LatLon(0, 0), 100, "name"),
            (1, "A", LatLon(0, 200), 100, "lon must be within"),
            (1, "A", LatLon(0, 0), 0, "radius_m"),
        ],
    )
    def test_invalid_areas_are_refused(self, region_id, name, center, radius, message):
        with pytest.raises(ValueError, match=message):
            RegionArea(region_id, name, center, radius)


# ------------------------------------------------------------------------------------------------ boundaries


def _inside(point, ring) -> bool:
    """Ray casting in the (lon, lat) plane."""
    x, y, inside = point.lon, point.lat, False
    for a, b in zip(ring, ring[1:]):
        if (a.lat > y) != (b.lat > y) and x < a.lon + (y - a.lat) * (b.lon - a.lon) / (b.lat - a.lat):
            inside = not inside
    return inside


def _distance_to_ring_m(point, ring) -> float:
    """Metres from `point` to the nearest edge of `ring` (local projection; enough at city scale)."""
    projection = Projection(point)
    xy = projection.to_xy([(p.lat, p.lon) for p in ring])
    best = float("inf")
    for (ax, ay), (bx, by) in zip(xy, xy[1:]):
        dx, dy = bx - ax, by - ay
        share = max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy))) if dx or dy else 0.0
        best = min(best, ((ax + share * dx) ** 2 + (ay + share * dy) ** 2) ** 0.5)
    return best


def _signed_area(ring) -> float:
    return sum(a.lon * b.lat - b.lon * a.lat for a, b in zip(ring, ring[1:])) / 2


class TestBoundaries:
    def test_a_lone_region_is_its_disc_as_a_closed_counterclockwise_ring_on_the_circle(self):
        area = RegionArea(5, "Alone", LatLon(45.0, 5.0), 1_000)
        ring = RegionMap([area]).boundary(5)
        assert len(ring) == 73 and ring[0] == ring[-1]
        assert _signed_area(ring) > 0  # counterclockwise: the exterior ring of RFC 7946
        assert all(abs(haversine_m(area.center, p) - 1_000) < 0.01 for p in ring)

    def test_overlapping_regions_are_cut_along_the_bisector(self):
        lyon, villeurbanne = DEFAULT_REGION_MAP.area(1), DEFAULT_REGION_MAP.area(2)
        for area, other in ((lyon, villeurbanne), (villeurbanne, lyon)):
            ring = DEFAULT_REGION_MAP.boundary(area.region_id)
            assert ring[0] == ring[-1] and _signed_area(ring) > 0
            for p in ring:  # on the circle, or on the bisector
                on_circle = abs(haversine_m(area.center, p) - area.radius_m) < 1
                on_bisector = abs(haversine_m(area.center, p) - haversine_m(other.center, p)) < 2
                assert on_circle or on_bisector
                assert haversine_m(area.center, p) <= haversine_m(other.center, p) + 2

    def test_an_unknown_region_has_no_boundary(self):
        with pytest.raises(KeyError, match="unknown region id 3"):
            DEFAULT_REGION_MAP.boundary(3)

    def test_a_circle_needs_three_vertices(self):
        with pytest.raises(ValueError, match="at least 3"):
            circle(LatLon(0, 0), 10, 2)

    @hypothesis_settings(max_examples=300, deadline=None)
    @given(st.floats(45.72, 45.81), st.floats(4.79, 4.95))
    def test_a_point_clear_of_the_outline_is_inside_exactly_when_region_of_says_so(self, lat, lon):
        point = LatLon(lat, lon)
        owner = DEFAULT_REGION_MAP.region_of(point)
        for region_id in (1, 2):
            ring = DEFAULT_REGION_MAP.boundary(region_id)
            if _distance_to_ring_m(point, ring) > 5:  # the polygon is within 2.4 m of the true outline
                assert _inside(point, ring) == (owner == region_id)
