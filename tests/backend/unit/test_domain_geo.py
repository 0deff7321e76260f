import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from coopride.domain.geo import (
    DistanceModel,
    GreatCircleDistance,
    LatLon,
    Projection,
    haversine_m,
    haversine_m_array,
    validate_latlon,
)

LYON_BELLECOUR = LatLon(45.7578, 4.8320)
LYON_PART_DIEU = LatLon(45.7606, 4.8594)

city_points = st.tuples(st.floats(45.6, 45.9), st.floats(4.7, 5.0)).map(lambda p: LatLon(*p))


class TestValidateLatLon:
    def test_returns_a_latlon_for_a_valid_point(self):
        assert validate_latlon(45, 4.5) == LatLon(45.0, 4.5)

    @pytest.mark.parametrize(
        "lat, lon, message",
        [
            (90.5, 0, "lat must be within"),
            (0, -180.1, "lon must be within"),
            (float("nan"), 0, "lat must be finite"),
            (0, float("inf"), "lon must be finite"),
            ("45", 4, "lat must be a number"),
            (True, 4, "lat must be a number"),
        ],
    )
    def test_rejects_invalid_points_with_a_reason(self, lat, lon, message):
        with pytest.raises(ValueError, match=message):
            validate_latlon(lat, lon)


class TestHaversine:
    def test_bellecour_to_part_dieu_agrees_with_the_spherical_law_of_cosines(self):
        lat1, lon1, lat2, lon2 = map(math.radians, (*LYON_BELLECOUR, *LYON_PART_DIEU))
        central_angle = math.acos(
            math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
        )
        assert haversine_m(LYON_BELLECOUR, LYON_PART_DIEU) == pytest.approx(6_371_008.8 * central_angle, rel=1e-6)
        assert 2_100 < haversine_m(LYON_BELLECOUR, LYON_PART_DIEU) < 2_200

    def test_one_degree_of_latitude_is_about_111_km(self):
        assert haversine_m(LatLon(0, 0), LatLon(1, 0)) == pytest.approx(111_195, rel=1e-4)

    def test_antipodes_are_half_the_circumference_apart(self):
        assert haversine_m(LatLon(0, 0), LatLon(0, 180)) == pytest.approx(math.pi * 6_371_008.8)

    @given(city_points, city_points)
    def test_is_symmetric_and_matches_the_vectorised_form(self, a, b):
        assert haversine_m(a, b) == pytest.approx(haversine_m(b, a))
        vectorised = haversine_m_array(np.array([a]), np.array([b]))[0]
        assert vectorised == pytest.approx(haversine_m(a, b), abs=1e-6)

    @given(city_points, city_points, city_points)
    def test_satisfies_the_triangle_inequality(self, a, b, c):
        assert haversine_m(a, c) <= haversine_m(a, b) + haversine_m(b, c) + 1e-6


class TestProjection:
    @given(city_points, city_points)
    def test_euclidean_distance_in_metres_is_within_half_a_percent_of_haversine_in_a_city(self, a, b):
        projection = Projection(LatLon(45.76, 4.85))
        xy = projection.to_xy(np.array([a, b]))
        assert np.hypot(*(xy[0] - xy[1])) == pytest.approx(haversine_m(a, b), rel=5e-3, abs=1e-3)

    def test_origin_maps_to_zero_and_north_is_positive_y(self):
        projection = Projection(LYON_BELLECOUR)
        xy = projection.to_xy(np.array([LYON_BELLECOUR, (45.7678, 4.8320)]))
        assert xy[0] == pytest.approx([0, 0])
        assert xy[1][0] == pytest.approx(0) and xy[1][1] == pytest.approx(1112, rel=1e-3)

    @given(city_points)
    def test_to_latlon_inverts_to_xy(self, point):
        projection = Projection(LYON_BELLECOUR)
        assert projection.to_latlon(projection.to_xy(np.array([point])))[0] == pytest.approx(point)


class TestGreatCircleDistance:
    def test_scales_haversine_by_the_circuity_factor(self):
        model = GreatCircleDistance(circuity=1.3)
        assert model.road_metres(LYON_BELLECOUR, LYON_PART_DIEU) == pytest.approx(1.3 * haversine_m(LYON_BELLECOUR, LYON_PART_DIEU))

    def test_vectorised_variant_agrees_with_the_scalar_one(self):
        model = GreatCircleDistance()
        a = np.array([LYON_BELLECOUR, LYON_PART_DIEU])
        b = np.array([LYON_PART_DIEU, LYON_PART_DIEU])
        assert model.road_metres_array(a, b) == pytest.approx([model.road_metres(LYON_BELLECOUR, LYON_PART_DIEU), 0])

    def test_implements_the_distance_model_protocol(self):
        assert isinstance(GreatCircleDistance(), DistanceModel)

    @pytest.mark.parametrize("circuity", [0.9, float("nan"), float("inf")])
    def test_rejects_a_circuity_below_one_or_not_finite(self, circuity):
        with pytest.raises(ValueError, match="circuity"):
            GreatCircleDistance(circuity)
