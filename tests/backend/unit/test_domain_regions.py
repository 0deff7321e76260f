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
def _rings(polygons):
    return [ring for polygon in polygons for ring in polygon]


def _inside(point, polygons) -> bool:
    """Even-odd ray casting in the (lon, lat) plane over every ring: holes flip back to outside."""
    x, y, inside = point.lon, point.lat, False
    for ring in _rings(polygons):
        for a, b in zip(ring, ring[1:]):
            if (a.lat > y) != (b.lat > y) and x < a.lon + (y - a.lat) * (b.lon - a.lon) / (b.lat - a.lat):
                inside = not inside
    return inside


def _distance_to_outline_m(point, polygons) -> float:
    """Metres from `point` to the nearest edge of any ring (local projection; enough at city scale)."""
    projection = Projection(point)
    best = float("inf")
    for ring in _rings(polygons):
        xy = projection.to_xy([(p.lat, p.lon) for p in ring])
        for (ax, ay), (bx, by) in zip(xy, xy[1:]):
            dx, dy = bx - ax, by - ay
            share = max(0.0, min(1.0, -(ax * dx + ay * dy) / (dx * dx + dy * dy))) if dx or dy else 0.0
            best = min(best, ((ax + share * dx) ** 2 + (ay + share * dy) ** 2) ** 0.5)
    return best


def _signed_area(ring) -> float:
    return sum(a.lon * b.lat - b.lon * a.lat for a, b in zip(ring, ring[1:])) / 2


# Regions of up to 4 km around Lyon, centres within about 6 km: they overlap, nest and cut each other apart.
_areas = st.lists(
    st.tuples(st.floats(45.73, 45.79), st.floats(4.80, 4.90), st.floats(200.0, 4_000.0)), min_size=1, max_size=4
).map(lambda discs: RegionMap([RegionArea(i + 1, f"R{i + 1}", LatLon(lat, lon), r) for i, (lat, lon, r) in
                               enumerate(discs)]))
# The rings follow each circle within radius * (1 - cos(2.5 deg)): 3.8 m at 4 km.
_CLEARANCE_M = 5.0


class TestBoundaries:
    def test_a_lone_region_is_its_disc_as_one_closed_counterclockwise_ring_on_the_circle(self):
        area = RegionArea(5, "Alone", LatLon(45.0, 5.0), 1_000)
        [[ring]] = RegionMap([area]).boundary(5)
        assert len(ring) == 73 and ring[0] == ring[-1]
        assert _signed_area(ring) > 0  # counterclockwise: the exterior ring of RFC 7946
        assert all(abs(haversine_m(area.center, p) - 1_000) < 0.01 for p in ring)

    def test_the_smaller_of_two_overlapping_regions_is_cut_along_the_bisector(self):
        lyon, villeurbanne = DEFAULT_REGION_MAP.area(1), DEFAULT_REGION_MAP.area(2)
        [[ring]] = DEFAULT_REGION_MAP.boundary(lyon.region_id)
        assert ring[0] == ring[-1] and _signed_area(ring) > 0
        for p in ring:  # on its circle, or on the bisector
            on_circle = abs(haversine_m(lyon.center, p) - lyon.radius_m) < 1
            on_bisector = abs(haversine_m(lyon.center, p) - haversine_m(villeurbanne.center, p)) < 2
            assert on_circle or on_bisector
            assert haversine_m(lyon.center, p) <= haversine_m(villeurbanne.center, p) + 2

    def test_the_larger_region_keeps_its_rim_beyond_the_smaller_ones_circle(self):
        lyon, villeurbanne = DEFAULT_REGION_MAP.area(1), DEFAULT_REGION_MAP.area(2)
        [[ring]] = DEFAULT_REGION_MAP.boundary(villeurbanne.region_id)
        assert _signed_area(ring) > 0
        on_lyons_circle = [p for p in ring if abs(haversine_m(lyon.center, p) - lyon.radius_m) < 1
                           and haversine_m(lyon.center, p) < haversine_m(villeurbanne.center, p) - 2]
        assert on_lyons_circle  # nearer Lyon's centre, yet outside Lyon's disc: Villeurbanne's
        for p in on_lyons_circle:
            assert DEFAULT_REGION_MAP.region_of(_towards(p, lyon.center, -10)) == villeurbanne.region_id

    def test_a_region_inside_a_larger_one_is_a_hole_in_it(self):
        city, district = RegionArea(1, "City", LatLon(45.0, 5.0), 3_000), RegionArea(2, "District", LatLon(45.0, 5.0), 500)
        region_map = RegionMap([district, city])  # same centre: the first listed wins the shared disc
        [[exterior, hole]] = region_map.boundary(1)
        assert _signed_area(exterior) > 0 > _signed_area(hole)  # RFC 7946: holes clockwise
        assert all(abs(haversine_m(city.center, p) - 500) < 0.01 for p in hole)
        assert region_map.boundary(2) == [[circle_ring(district)]]

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
            polygons = DEFAULT_REGION_MAP.boundary(region_id)
            if _distance_to_outline_m(point, polygons) > _CLEARANCE_M:
                assert _inside(point, polygons) == (owner == region_id)

    @hypothesis_settings(max_examples=60, deadline=None)
    @given(_areas, st.lists(st.tuples(st.floats(45.70, 45.82), st.floats(4.76, 4.94)), min_size=20, max_size=20))
    def test_on_any_map_the_outlines_place_points_as_region_of_does(self, region_map, points):
        outlines = {area.region_id: region_map.boundary(area.region_id) for area in region_map.areas}
        for lat, lon in points:
            point = LatLon(lat, lon)
            owner = region_map.region_of(point)
            for region_id, polygons in outlines.items():
                if _distance_to_outline_m(point, polygons) > _CLEARANCE_M:
                    assert _inside(point, polygons) == (owner == region_id), (region_id, owner)


def circle_ring(area):
    points = circle(area.center, area.radius_m)
    return [*points, points[0]]


def _towards(point, target, metres):
    """`point` moved `metres` towards `target` (away when negative), in the local plane."""
    projection = Projection(point)
    [[tx, ty]] = projection.to_xy([(target.lat, target.lon)])
    length = (tx * tx + ty * ty) ** 0.5
    [[lat, lon]] = projection.to_latlon([(tx * metres / length, ty * metres / length)])
    return LatLon(float(lat), float(lon))
