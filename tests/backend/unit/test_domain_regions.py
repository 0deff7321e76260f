import pytest

from coopride.domain.geo import LatLon
from coopride.domain.regions import DEFAULT_REGION_MAP, RegionArea, RegionMap


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
