import pytest
from hypothesis import given, strategies as st

from coopride.domain.pricing import capped_reward, driver_take, fee_of, halved_rate, quote_fare, reward_for

uint32 = st.integers(0, 2**32 - 1)
uint96 = st.integers(0, 2**96 - 1)
fee_bps = st.integers(0, 10_000)


class TestFares:
    def test_quote_of_12_345_m_at_half_a_token_per_km(self):
        assert quote_fare(12_345, 500_000) == 6_172_500

    def test_quote_rounds_down_like_the_chain(self):
        assert quote_fare(1, 999) == 0
        assert quote_fare(1_999, 1) == 1

    @given(uint32, uint96)
    def test_quote_is_the_chain_integer_formula(self, metres, fare_per_km):
        assert quote_fare(metres, fare_per_km) == metres * fare_per_km // 1000

    @given(uint32, st.integers(0, 2**96 - 1), uint32)
    def test_quote_never_decreases_with_distance(self, metres, fare_per_km, extra):
        assert quote_fare(metres + extra, fare_per_km) >= quote_fare(metres, fare_per_km)

    @pytest.mark.parametrize("arguments", [(-1, 10), (10, -1)])
    def test_negative_inputs_are_refused(self, arguments):
        with pytest.raises(ValueError, match=">= 0"):
            quote_fare(*arguments)

    def test_non_integer_inputs_are_refused(self):
        with pytest.raises(TypeError, match="must be an int"):
            quote_fare(1.5, 10)


class TestFees:
    def test_fifteen_percent_of_ten_tokens(self):
        assert fee_of(10_000_000, 1500) == 1_500_000
        assert driver_take(10_000_000, 1500) == 8_500_000

    @given(uint96, fee_bps)
    def test_fee_plus_driver_take_is_exactly_the_fare(self, fare, bps):
        fee = fee_of(fare, bps)
        assert fee == fare * bps // 10_000
        assert 0 <= fee <= fare
        assert fee + driver_take(fare, bps) == fare

    def test_a_fee_above_one_hundred_percent_is_refused(self):
        with pytest.raises(ValueError, match="fee_bps must be <= 10000"):
            fee_of(100, 10_001)


class TestRewards:
    @given(uint32, uint96)
    def test_reward_is_paid_per_metre(self, metres, rate):
        assert reward_for(metres, rate) == metres * rate // 1000

    def test_rate_halves_at_each_interval_crossed(self):
        assert halved_rate(10**18, 0, 1000) == 10**18
        assert halved_rate(10**18, 999, 1000) == 10**18
        assert halved_rate(10**18, 1000, 1000) == 5 * 10**17
        assert halved_rate(10**18, 3500, 1000) == 10**18 // 8

    def test_zero_interval_means_no_halving(self):
        assert halved_rate(10**18, 10**30, 0) == 10**18

    @given(uint96, st.integers(0, 2**256 - 1), st.integers(1, 2**128))
    def test_halving_is_the_contract_shift(self, rate, minted, interval):
        halvings = minted // interval
        assert halved_rate(rate, minted, interval) == (rate >> halvings if halvings < 256 else 0)

    @given(uint96, uint96, uint96)
    def test_capped_reward_never_mints_past_the_cap(self, reward, minted, cap):
        granted = capped_reward(reward, minted, cap)
        assert 0 <= granted <= reward
        assert minted + granted <= max(cap, minted)
