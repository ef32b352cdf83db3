"""Tests for volresearch.signals.positions (Kelly, caps, entry, management)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volresearch.errors import ConfigError, DataError, SignalError
from volresearch.signals.confidence import ConfidenceCalculator, ConfidenceLevel, load_thresholds
from volresearch.signals.positions import (
    ContractSpec,
    Position,
    PositionConfig,
    PositionManager,
    PositionSizer,
    classify_stop_breach,
    kelly_fraction,
)
from volresearch.signals.zones import analyze_distribution

L = ConfidenceLevel
ES = ContractSpec(tick_size=0.25, point_value=50.0, symbol="ES")
FREE = PositionConfig(slippage_ticks=0.0, commission_per_contract=0.0)


# --------------------------------------------------------------------------- Kelly


@pytest.mark.parametrize(
    "p, b, expected",
    [
        (0.6, 1.0, 0.2),
        (0.5, 2.0, 0.25),
        (0.55, 1.5, 0.55 - 0.45 / 1.5),
        (0.4, 1.0, -0.2),
        (1.0, 0.3, 1.0),
        (0.0, 5.0, -0.2),
    ],
)
def test_kelly_closed_form(p, b, expected):
    assert kelly_fraction(p, b) == pytest.approx(expected)


def test_kelly_maximises_log_growth():
    p, b = 0.58, 1.7
    f = np.linspace(0.0, 0.99, 99_001)
    growth = p * np.log1p(f * b) + (1 - p) * np.log1p(-f)
    assert f[np.argmax(growth)] == pytest.approx(kelly_fraction(p, b), abs=1e-4)


def test_kelly_rejects_bad_inputs():
    with pytest.raises(SignalError, match="win probability"):
        kelly_fraction(1.2, 1.0)
    with pytest.raises(SignalError, match="payoff ratio"):
        kelly_fraction(0.5, 0.0)


# --------------------------------------------------------------------------- sizing


def test_size_without_costs_matches_closed_form():
    sizer = PositionSizer(dataclasses.replace(FREE, max_position_fraction=1.0, risk_per_trade=1.0))
    r = sizer.size(
        "long", entry=4500.0, target=4520.0, stop=4490.0, win_probability=0.6, equity=1_000_000.0, contract=ES
    )
    assert r.reward_per_contract == 20 * 50 and r.risk_per_contract == 10 * 50
    assert r.reward_risk == 2.0
    assert r.kelly == pytest.approx(0.6 - 0.4 / 2)
    assert r.fraction == pytest.approx(0.5 * 0.4)  # half-Kelly
    assert r.contracts_kelly == pytest.approx(0.2 * 1_000_000 / 500)
    assert r.contracts == 400 and r.binding == "kelly"
    assert r.loss_at_stop == 400 * 500


def test_kelly_fraction_is_capped_then_risk_cap_binds():
    sizer = PositionSizer(FREE)  # risk_per_trade 0.02, max_position_fraction 0.10
    r = sizer.size(
        "long",
        entry=100.0,
        target=130.0,
        stop=90.0,
        win_probability=0.9,
        equity=100_000.0,
        contract=ContractSpec(0.01, 10.0),
    )
    assert r.kelly == pytest.approx(0.9 - 0.1 / 3)
    assert r.fraction == 0.10  # 0.5 * 0.867 capped
    assert r.contracts_risk == pytest.approx(0.02 * 100_000 / 100)
    assert r.contracts == 20 and r.binding == "risk_per_trade"
    assert r.loss_at_stop <= 0.02 * 100_000


def test_negative_edge_gives_zero_size():
    r = PositionSizer(FREE).size(
        "short", entry=100.0, target=95.0, stop=105.0, win_probability=0.4, equity=1e6, contract=ContractSpec(0.01, 1.0)
    )
    assert r.kelly == pytest.approx(-0.2)
    assert r.fraction == 0.0 and r.contracts_kelly == 0.0 and r.contracts == 0 and r.loss_at_stop == 0.0


def test_costs_enter_reward_and_risk():
    cfg = PositionConfig(slippage_ticks=2.0, commission_per_contract=2.5, risk_per_trade=1.0, max_position_fraction=1.0)
    r = PositionSizer(cfg).size(
        "long", entry=4500.0, target=4520.0, stop=4490.0, win_probability=0.6, equity=1e6, contract=ES
    )
    slip = 2 * 2.0 * 0.25  # two fills of two ticks, price units
    assert r.reward_per_contract == pytest.approx((20 - slip) * 50 - 5.0)
    assert r.risk_per_contract == pytest.approx((10 + slip) * 50 + 5.0)
    assert r.reward_risk == pytest.approx(r.reward_per_contract / r.risk_per_contract)
    assert r.kelly == pytest.approx(kelly_fraction(0.6, r.reward_risk))
    # Costs that eat the whole reward leave no trade.
    tiny = PositionSizer(cfg).size(
        "long", entry=4500.0, target=4500.5, stop=4490.0, win_probability=0.9, equity=1e6, contract=ES
    )
    assert tiny.kelly is None and tiny.reward_risk == 0.0 and tiny.contracts == 0


def test_prices_are_rounded_conservatively_to_the_tick():
    r = PositionSizer(FREE).size(
        "long", entry=4500.0, target=4520.3, stop=4490.1, win_probability=0.6, equity=1e6, contract=ES
    )
    assert r.target_price == 4520.25 and r.stop_price == 4490.0
    s = PositionSizer(FREE).size(
        "short", entry=4500.0, target=4479.9, stop=4509.8, win_probability=0.6, equity=1e6, contract=ES
    )
    assert s.target_price == 4480.0 and s.stop_price == 4510.0
    assert ES.round_price(4500.25, "down") == 4500.25  # already on the grid
    assert ES.round_price(4500.1, "nearest") == 4500.0


def test_confirm_policy_sizes_to_the_hard_stop():
    cfg = dataclasses.replace(FREE, spike_policy="confirm", hard_stop_ticks=8.0)
    r = PositionSizer(cfg).size(
        "long", entry=4500.0, target=4530.0, stop=4490.0, win_probability=0.6, equity=1e5, contract=ES
    )
    assert r.loss_price == 4488.0
    assert r.risk_per_contract == pytest.approx(12 * 50)


def test_sizer_rejects_bad_geometry():
    with pytest.raises(SignalError, match="either side"):
        PositionSizer().size("long", entry=100.0, target=99.0, stop=98.0, win_probability=0.6, equity=1e5, contract=ES)
    with pytest.raises(DataError, match="equity"):
        PositionSizer().size(
            "long", entry=100.0, target=101.0, stop=98.0, win_probability=0.6, equity=-1.0, contract=ES
        )
    with pytest.raises(SignalError, match="side"):
        PositionSizer().size(
            "flat",
            entry=100.0,
            target=101.0,
            stop=98.0,  # type: ignore[arg-type]
            win_probability=0.6,
            equity=1e5,
            contract=ES,
        )


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(["long", "short"]),
    entry=st.floats(10.0, 10_000.0),
    reward=st.floats(0.01, 0.2),
    risk=st.floats(0.001, 0.1),
    p=st.floats(0.0, 1.0),
    equity=st.floats(1e3, 1e8),
    risk_per_trade=st.floats(0.001, 0.1),
    max_frac=st.floats(0.001, 0.5),
    slip=st.floats(0.0, 3.0),
    commission=st.floats(0.0, 5.0),
    tick=st.sampled_from([0.005, 0.01, 0.1, 0.25]),
    point_value=st.sampled_from([5.0, 20.0, 50.0, 100.0, 5000.0]),
    policy=st.sampled_from(["exit", "confirm"]),
)
def test_sizes_respect_both_caps(
    side, entry, reward, risk, p, equity, risk_per_trade, max_frac, slip, commission, tick, point_value, policy
):
    sign = 1 if side == "long" else -1
    cfg = PositionConfig(
        risk_per_trade=risk_per_trade,
        max_position_fraction=max_frac,
        slippage_ticks=slip,
        commission_per_contract=commission,
        spike_policy=policy,
    )
    contract = ContractSpec(tick, point_value)
    target = entry * (1 + sign * reward)
    stop = entry * (1 - sign * risk)
    r = PositionSizer(cfg).size(
        side, entry=entry, target=target, stop=stop, win_probability=p, equity=equity, contract=contract
    )
    assert r.contracts >= 0 and isinstance(r.contracts, int)
    assert r.loss_at_stop <= risk_per_trade * equity * (1 + 1e-12)
    assert r.loss_at_stop <= r.fraction * equity * (1 + 1e-12)
    assert r.fraction <= max_frac
    allowed = min(r.contracts_kelly, r.contracts_risk)
    assert r.contracts <= allowed * (1 + 1e-12) and r.contracts > allowed - 1
    if r.kelly is not None:
        assert r.fraction == pytest.approx(min(0.5 * max(r.kelly, 0.0), max_frac))
        if r.kelly <= 0:
            assert r.contracts == 0
    # The loss per contract covers the distance to the loss price plus costs.
    expected_risk = (sign * (entry - r.loss_price) + 2 * slip * tick) * point_value + 2 * commission
    assert r.risk_per_contract == pytest.approx(expected_risk)
    assert sign * (entry - r.loss_price) >= sign * (entry - stop) - 1e-9


# --------------------------------------------------------------------------- spike versus grind


def test_spike_and_grind_classification():
    calm = np.array([0.0004, -0.0003, 0.0002, -0.0005, 0.0003, -0.0002, 0.0004, -0.0001])
    spike_down = np.r_[calm, -0.006]
    grind_down = np.r_[calm, -0.0006]
    assert classify_stop_breach(spike_down, "long") == "spike"
    assert classify_stop_breach(grind_down, "long") == "grind"
    assert classify_stop_breach(-spike_down, "short") == "spike"
    # A big move in the position's favour is not an adverse spike.
    assert classify_stop_breach(spike_down, "short") == "grind"
    # Volume gate.
    vol = np.r_[np.full(calm.size, 100.0), 400.0]
    assert classify_stop_breach(spike_down, "long", volumes=vol) == "spike"
    assert classify_stop_breach(spike_down, "long", volumes=np.r_[vol[:-1], 150.0]) == "grind"
    # Too little history: conservative.
    assert classify_stop_breach(spike_down[-3:], "long") == "grind"
    # Flat history: any adverse move is a spike.
    assert classify_stop_breach(np.r_[np.zeros(8), -0.001], "long") == "spike"
    with pytest.raises(DataError, match="volumes must match"):
        classify_stop_breach(spike_down, "long", volumes=[1.0, 2.0])


# --------------------------------------------------------------------------- entry


@pytest.fixture(scope="module")
def bullish_setup():
    """ES forecast: 25 % of paths near 4492, 75 % near 4525, price 4500."""
    rng = np.random.default_rng(42)
    x = np.concatenate([rng.normal(4492.0, 2.0, 5_000), rng.normal(4525.0, 2.0, 15_000)])
    analysis = analyze_distribution(x, 4500.0, tick_size=0.25, horizon=1440)
    confidence = ConfidenceCalculator.from_yaml().assess(x, 4500.0, instrument="ES", horizon=1440)
    return analysis, confidence


def test_entry_on_a_clean_bullish_setup(bullish_setup):
    analysis, confidence = bullish_setup
    assert analysis.bias == "bullish" and confidence.level is L.HIGH
    mgr = PositionManager(ES, PositionConfig.from_yaml())
    d = mgr.evaluate_entry(analysis, confidence, equity=100_000.0)
    assert d.action == "enter" and d.reasons == () and d.side == "long"
    s = d.sizing
    assert s is not None and s.win_probability == analysis.bias_confidence
    assert s.reward_risk >= 1.5 and s.kelly is not None and s.kelly > 0
    assert s.target_price == ES.round_price(analysis.primary_target.center, "down")
    assert s.stop_price == ES.round_price(analysis.stop.price, "down")
    assert s.loss_at_stop <= 0.02 * 100_000
    assert s.contracts == math.floor(min(s.contracts_kelly, s.contracts_risk))
    assert s.contracts >= 1
    pos = d.position
    assert pos is not None and pos.contracts == s.contracts and pos.side == "long"
    assert pos.stop_loss < 4500.0 < pos.take_profit and pos.hard_stop is None
    assert pos.entry_confidence == "high"
    json.dumps(d.to_dict(), allow_nan=False)
    assert d.summary().startswith("enter: long")
    assert d.bias_score == analysis.bias_score and d.bias_score_se is None


def test_entry_decision_carries_the_bias_standard_error():
    rng = np.random.default_rng(42)
    x = np.concatenate([rng.normal(4492.0, 2.0, 5_000), rng.normal(4525.0, 2.0, 15_000)])
    analysis = analyze_distribution(x, 4500.0, tick_size=0.25, horizon=1440, mean_se=3.0)
    confidence = ConfidenceCalculator.from_yaml().assess(x, 4500.0, instrument="ES", horizon=1440, mean_se=3.0)
    d = PositionManager(ES, PositionConfig.from_yaml()).evaluate_entry(analysis, confidence, equity=100_000.0)
    assert d.bias_score_se == analysis.bias_score_se == 3.0 / analysis.std
    assert d.to_dict()["bias_score_se"] == d.bias_score_se


def test_entry_refusals_list_every_reason(bullish_setup):
    analysis, confidence = bullish_setup
    mgr = PositionManager(ES, PositionConfig(min_reward_risk=10.0))
    low_conf = dataclasses.replace(confidence, level=L.MODERATE)
    d = mgr.evaluate_entry(analysis, low_conf, equity=100_000.0)
    assert d.action == "hold" and d.position is None
    assert any("confidence moderate below high" in r for r in d.reasons)
    assert any("reward/risk" in r for r in d.reasons)
    neutral = dataclasses.replace(analysis, bias="neutral", primary_target=None, stop=None)
    d2 = PositionManager(ES).evaluate_entry(neutral, confidence, equity=1e5)
    assert d2.reasons == ("no directional bias",) and d2.side is None
    weak = dataclasses.replace(analysis, bias_confidence=0.52)
    d3 = PositionManager(ES).evaluate_entry(weak, confidence, equity=1e5)
    assert d3.action == "hold" and "bias confidence 0.52 below 0.55" in d3.reasons[0]
    # A losing bet: Kelly not positive.
    d4 = PositionManager(ES).evaluate_entry(analysis, confidence, equity=1e5, win_probability=0.2)
    assert "no edge: Kelly fraction not positive" in d4.reasons
    # Too little equity for one contract within the risk cap.
    d5 = PositionManager(ES).evaluate_entry(analysis, confidence, equity=5_000.0)
    assert d5.reasons == ("size rounds to zero contracts within the caps",)
    no_target = dataclasses.replace(analysis, primary_target=None)
    d6 = PositionManager(ES).evaluate_entry(no_target, confidence, equity=1e5)
    assert d6.reasons == ("no target zone on the bias side",) and d6.sizing is None


# --------------------------------------------------------------------------- management


def long_position(**kw) -> Position:
    base = dict(side="long", entry_price=4500.0, contracts=2, take_profit=4525.0, stop_loss=4490.0)
    base.update(kw)
    return Position(**base)  # type: ignore[arg-type]


def test_take_profit_and_stop_exits():
    mgr = PositionManager(ES, FREE)
    tp = mgr.manage(long_position(), 4525.0)
    assert tp.action == "exit" and "take-profit" in tp.reason and tp.exit_price == 4525.0
    assert tp.net_pnl == pytest.approx(2 * 25 * 50)
    sl = mgr.manage(long_position(), 4489.0)
    assert sl.action == "exit" and sl.stop_pattern == "grind" and sl.net_pnl == pytest.approx(-2 * 11 * 50)
    short = Position(side="short", entry_price=4500.0, contracts=1, take_profit=4480.0, stop_loss=4510.0)
    assert mgr.manage(short, 4479.75).action == "exit"
    assert mgr.manage(short, 4510.0).stop_pattern == "grind"
    hold = mgr.manage(short, 4495.0)
    assert hold.action == "hold" and hold.position.max_favorable == 5.0 and hold.exit_price is None


def test_costs_in_net_pnl():
    mgr = PositionManager(ES, PositionConfig(slippage_ticks=1.0, commission_per_contract=2.0))
    d = mgr.manage(long_position(), 4510.0)
    assert d.net_pnl == pytest.approx(2 * (10 * 50 - 2 * (0.25 * 50 + 2.0)))


def test_excursions_are_tracked_without_mutating_the_input():
    mgr = PositionManager(ES, FREE)
    p0 = long_position()
    p1 = mgr.manage(p0, 4510.0).position
    p2 = mgr.manage(p1, 4495.0).position
    assert (p2.max_favorable, p2.max_adverse) == (10.0, -5.0)
    assert (p0.max_favorable, p0.max_adverse) == (0.0, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p0.stop_loss = 1.0  # type: ignore[misc]


def test_spike_policy_confirm_holds_then_exits():
    cfg = dataclasses.replace(FREE, spike_policy="confirm", confirm_bars=1, hard_stop_ticks=8.0)
    mgr = PositionManager(ES, cfg)
    pos = long_position(hard_stop=4488.0)
    calm = np.array([0.0004, -0.0003, 0.0002, -0.0005, 0.0003, -0.0002, 0.0004, -0.0001])
    spike = np.r_[calm, -0.004]
    first = mgr.manage(pos, 4489.5, recent_returns=spike)
    assert first.action == "hold" and first.stop_pattern == "spike" and first.position.breach_bars == 1
    # Still beyond the stop on the next bar: more than confirm_bars -> exit.
    second = mgr.manage(first.position, 4489.75)
    assert second.action == "exit" and second.stop_pattern == "spike" and "2 bars" in second.reason
    # Back above the stop: the breach count resets.
    back = mgr.manage(first.position, 4491.0)
    assert back.action == "hold" and back.position.breach_bars == 0
    # Beyond the hard stop: exit at once.
    hard = mgr.manage(pos, 4487.75, recent_returns=spike)
    assert hard.action == "exit" and "hard stop" in hard.reason
    # A grind exits at once even under the confirm policy.
    grind = mgr.manage(pos, 4489.5, recent_returns=np.r_[calm, -0.0004])
    assert grind.action == "exit" and grind.stop_pattern == "grind"
    # Under the default exit policy a spike exits too, and is reported.
    plain = PositionManager(ES, FREE).manage(pos, 4489.5, recent_returns=spike)
    assert plain.action == "exit" and plain.stop_pattern == "spike"


def test_confidence_collapse_and_bias_flip_exit(bullish_setup):
    analysis, confidence = bullish_setup
    mgr = PositionManager(ES, FREE)
    low = dataclasses.replace(confidence, level=L.LOW)
    d = mgr.manage(long_position(), 4505.0, analysis=analysis, confidence=low)
    assert d.action == "exit" and "confidence low" in d.reason
    flipped = dataclasses.replace(analysis, bias="bearish")
    d2 = mgr.manage(long_position(), 4505.0, analysis=flipped, confidence=confidence)
    assert d2.action == "exit" and "bias turned bearish" in d2.reason
    # Without an analysis the assessment's bias is used.
    d3 = mgr.manage(long_position(), 4505.0, confidence=dataclasses.replace(confidence, bias="bearish"))
    assert d3.action == "exit"


def test_adjustments_are_confidence_gated(bullish_setup):
    analysis, confidence = bullish_setup
    mgr = PositionManager(ES, FREE)
    pos = long_position(take_profit=4515.0, stop_loss=4470.0)
    new_tp = ES.round_price(analysis.primary_target.center, "down")
    new_sl = ES.round_price(analysis.stop.price, "down")
    d = mgr.manage(pos, 4502.0, analysis=analysis, confidence=dataclasses.replace(confidence, level=L.MODERATE))
    assert d.action == "adjust"
    assert d.position.take_profit == new_tp and d.position.stop_loss == new_sl
    assert "take-profit" in d.reason and "stop" in d.reason
    # Below min_adjust_confidence (but above the exit level) nothing moves.
    cfg = dataclasses.replace(FREE, exit_confidence=L.VERY_LOW)
    frozen = PositionManager(ES, cfg).manage(
        pos, 4502.0, analysis=analysis, confidence=dataclasses.replace(confidence, level=L.LOW)
    )
    assert frozen.action == "hold" and frozen.position.take_profit == 4515.0
    # Without a confidence assessment nothing moves either.
    assert mgr.manage(pos, 4502.0, analysis=analysis).action == "hold"


def test_stop_only_tightens_and_keeps_a_tick_from_the_price(bullish_setup):
    analysis, confidence = bullish_setup
    mgr = PositionManager(ES, FREE)
    tight = long_position(stop_loss=4495.0, take_profit=ES.round_price(analysis.primary_target.center, "down"))
    d = mgr.manage(tight, 4500.0, analysis=analysis, confidence=confidence)
    assert d.position.stop_loss == 4495.0 and d.action == "hold"
    # A stop level that rounds to the price is not taken; one tick below it is.
    loose = long_position(stop_loss=4480.0, take_profit=tight.take_profit)
    at_price = dataclasses.replace(analysis, stop=dataclasses.replace(analysis.stop, price=4500.1))
    assert mgr.manage(loose, 4500.0, analysis=at_price, confidence=confidence).position.stop_loss == 4480.0
    one_tick = dataclasses.replace(analysis, stop=dataclasses.replace(analysis.stop, price=4499.9))
    assert mgr.manage(loose, 4500.0, analysis=one_tick, confidence=confidence).position.stop_loss == 4499.75
    # The hard stop follows a tightened stop under the confirm policy.
    cfg = dataclasses.replace(FREE, spike_policy="confirm")
    d3 = PositionManager(ES, cfg).manage(
        dataclasses.replace(loose, hard_stop=4478.0), 4500.0, analysis=analysis, confidence=confidence
    )
    assert d3.position.stop_loss == ES.round_price(analysis.stop.price, "down")
    assert d3.position.hard_stop == d3.position.stop_loss - 8 * 0.25


# --------------------------------------------------------------------------- configuration


def test_packaged_config_matches_the_defaults():
    assert PositionConfig.from_yaml() == PositionConfig()
    assert PositionConfig.from_thresholds(load_thresholds()).to_dict()["min_entry_confidence"] == "high"


def test_config_errors_name_file_and_key():
    with pytest.raises(ConfigError, match=r"cfg\.yaml: key 'position_management\.kelly_fraction': unknown"):
        PositionConfig.from_mapping({"kelly_fraction": 0.5}, "cfg.yaml")
    with pytest.raises(ConfigError, match=r"cfg\.yaml: key 'position_management\.risk_per_trade'"):
        PositionConfig.from_mapping({"risk_per_trade": 2.0}, "cfg.yaml")
    with pytest.raises(ConfigError, match=r"key 'position_management\.spike_policy'"):
        PositionConfig.from_mapping({"spike_policy": "pray"}, "cfg.yaml")
    with pytest.raises(ConfigError, match=r"key 'position_management\.min_adjust_confidence'"):
        PositionConfig.from_mapping({"min_adjust_confidence": "sure"}, "cfg.yaml")
    with pytest.raises(SignalError, match="confirm_bars"):
        PositionConfig(confirm_bars=0)
    with pytest.raises(SignalError, match="tick_size"):
        ContractSpec(tick_size=0.0, point_value=50.0)


def test_position_validation_and_trailing_stop(bullish_setup):
    with pytest.raises(SignalError, match="contracts"):
        long_position(contracts=0)
    with pytest.raises(SignalError, match="take-profit beyond its stop"):
        long_position(take_profit=4480.0)
    with pytest.raises(SignalError, match="side"):
        long_position(side="flat")
    # A stop tightened past the entry (trailing into profit) is a valid state.
    analysis, confidence = bullish_setup
    pos = long_position(entry_price=4480.0, stop_loss=4470.0, take_profit=4540.0)
    stop_level = dataclasses.replace(analysis.stop, price=4490.0)
    d = PositionManager(ES, FREE).manage(
        pos, 4500.0, analysis=dataclasses.replace(analysis, stop=stop_level), confidence=confidence
    )
    assert d.position.stop_loss == 4490.0 > pos.entry_price
