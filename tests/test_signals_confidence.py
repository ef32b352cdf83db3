"""Tests for volresearch.signals.confidence (levels, flags, YAML, calibration)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from volresearch.errors import ConfigError, DataError, SignalError
from volresearch.signals.confidence import (
    DEFAULT_TARGET_HIT_RATES,
    ConfidenceCalculator,
    ConfidenceLevel,
    LevelThresholds,
    calibrate_thresholds,
    default_thresholds_path,
    load_thresholds,
)

L = ConfidenceLevel
ORDER = [L.VERY_HIGH, L.HIGH, L.MODERATE, L.LOW, L.VERY_LOW]
SEED_THRESHOLDS = {
    "ES": (0.003, 0.005, 0.008, 0.012),
    "NQ": (0.004, 0.006, 0.010, 0.015),
    "GC": (0.003, 0.005, 0.008, 0.012),
    "SI": (0.006, 0.010, 0.015, 0.020),
}


@pytest.fixture(scope="module")
def calc() -> ConfidenceCalculator:
    return ConfidenceCalculator.from_yaml()


def sample_with_rel_std(rel: float, price: float = 1000.0, n: int = 4_000, shift: float = 0.0) -> np.ndarray:
    """Symmetric sample with std exactly ``rel * price`` and mean ``price + shift``."""
    z = np.random.default_rng(7).standard_normal(n)
    z = np.concatenate([z, -z])
    z = z / z.std()
    return price + shift + rel * price * z


def write_yaml(tmp_path: Path, doc: object, name: str = "thr.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    return p


def packaged_doc() -> dict:
    return yaml.safe_load(default_thresholds_path().read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- packaged file


def test_packaged_file_holds_the_seed_thresholds_at_24h(calc):
    cfg = load_thresholds()
    assert cfg.reference_horizon_minutes == 1440.0
    assert cfg.horizon_scaling == "sqrt"
    for sym, vals in SEED_THRESHOLDS.items():
        assert calc.instruments[sym].as_tuple() == vals
    assert "default" in calc.instruments
    assert cfg.particle_filter == {"n_particles": 10000, "resample_threshold": 0.5}
    assert cfg.min_entry_confidence is L.HIGH and cfg.min_adjust_confidence is L.MODERATE
    assert cfg.exit_confidence is L.LOW
    assert cfg.position_management["risk_per_trade"] == 0.02
    assert cfg.position_management["max_position_fraction"] == 0.10
    text = default_thresholds_path().read_text(encoding="utf-8")
    assert "24-hour horizon" in text and "sqrt(h / reference_horizon_minutes)" in text


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize("instrument", ["ES", "NQ", "GC", "SI", "default"])
def test_thresholds_classify_exactly_at_their_boundaries(calc, instrument):
    th = calc.instruments[instrument]
    for i, t in enumerate(th.as_tuple()):
        assert calc.classify(t, instrument=instrument) is ORDER[i]
        assert calc.classify(np.nextafter(t, np.inf), instrument=instrument) is ORDER[i + 1]
        assert calc.classify(np.nextafter(t, 0.0), instrument=instrument) is ORDER[i]
    assert calc.classify(0.0, instrument=instrument) is L.VERY_HIGH
    assert calc.classify(1.0, instrument=instrument) is L.VERY_LOW


def test_level_thresholds_rule_and_validation():
    th = LevelThresholds(0.1, 0.2, 0.2, 0.4)  # equal thresholds leave 'moderate' empty
    assert th.classify(0.2) is L.HIGH
    assert th.classify(np.nextafter(0.2, 1)) is L.LOW
    with pytest.raises(SignalError, match="non-decreasing"):
        LevelThresholds(0.2, 0.1, 0.3, 0.4)
    with pytest.raises(SignalError, match="'low'"):
        LevelThresholds(0.1, 0.2, 0.3, float("nan"))
    with pytest.raises(DataError, match="relative std"):
        th.classify(float("nan"))
    with pytest.raises(DataError, match="relative std"):
        th.classify(-0.1)
    assert th.scaled(2.0).as_tuple() == (0.2, 0.4, 0.4, 0.8)


def test_levels_are_ordered_and_parse():
    assert L.VERY_LOW < L.LOW < L.MODERATE < L.HIGH < L.VERY_HIGH
    assert L.HIGH >= L.HIGH and L.LOW <= L.MODERATE and not L.LOW > L.HIGH
    assert L.parse(" High ") is L.HIGH and L.parse(L.LOW) is L.LOW
    with pytest.raises(SignalError, match="unknown confidence level"):
        L.parse("great")


# --------------------------------------------------------------------------- assess


@pytest.mark.parametrize(
    "rel, level, enter, adjust, exit_",
    [
        (0.002, L.VERY_HIGH, True, True, False),
        (0.004, L.HIGH, True, True, False),
        (0.007, L.MODERATE, False, True, False),
        (0.010, L.LOW, False, False, True),
        (0.030, L.VERY_LOW, False, False, True),
    ],
)
def test_assess_levels_and_flags(calc, rel, level, enter, adjust, exit_):
    a = calc.assess(sample_with_rel_std(rel), 1000.0, instrument="ES")
    assert a.rel_std == pytest.approx(rel)
    assert a.level is level
    assert (a.can_enter, a.can_adjust, a.should_exit) == (enter, adjust, exit_)
    assert a.thresholds_key == "ES" and not a.used_default
    assert a.horizon == 1440.0 and a.horizon_scale == 1.0
    assert a.bias == "neutral"
    assert bool(a.exit_reasons) == exit_


def test_unknown_instrument_falls_back_to_default(calc):
    a = calc.assess(sample_with_rel_std(0.004), 1000.0, instrument="ZZ")
    assert a.used_default and a.thresholds_key == "default" and a.instrument == "ZZ"
    assert a.thresholds == calc.instruments["default"]
    assert "fallback" in a.summary()
    custom = calc.with_thresholds("default", LevelThresholds(0.001, 0.002, 0.003, 0.0035))
    assert custom.assess(sample_with_rel_std(0.004), 1000.0, instrument="ZZ").level is L.VERY_LOW
    # The known instrument keeps its own thresholds.
    assert custom.assess(sample_with_rel_std(0.004), 1000.0, instrument="ES").level is L.HIGH


def test_bias_against_an_open_position_sets_should_exit(calc):
    x = sample_with_rel_std(0.002, shift=-1.0)  # z = -0.5: bearish, very high confidence
    flat = calc.assess(x, 1000.0, instrument="ES")
    assert flat.level is L.VERY_HIGH and flat.bias == "bearish" and not flat.should_exit
    long = calc.assess(x, 1000.0, instrument="ES", position_side="long")
    assert long.should_exit and "against the open long" in long.exit_reasons[0]
    short = calc.assess(x, 1000.0, instrument="ES", position_side="short")
    assert not short.should_exit
    up = calc.assess(sample_with_rel_std(0.002, shift=1.0), 1000.0, instrument="ES", position_side="short")
    assert up.bias == "bullish" and up.should_exit
    with pytest.raises(SignalError, match="position_side"):
        calc.assess(x, 1000.0, instrument="ES", position_side="flat")  # type: ignore[arg-type]


def test_sqrt_horizon_scaling_is_the_default(calc):
    x = sample_with_rel_std(0.002)  # very_high at 24 h; 0.002 > 0.5 * 0.003 -> high at 6 h
    # a library user with the packaged file gets sqrt scaling without asking
    scaled = ConfidenceCalculator.from_yaml().assess(x, 1000.0, instrument="ES", horizon=360)
    assert scaled.horizon_scale == pytest.approx(0.5)
    assert scaled.thresholds.as_tuple() == pytest.approx(tuple(0.5 * v for v in SEED_THRESHOLDS["ES"]))
    assert scaled.level is L.HIGH
    # and so does one who builds a calculator in code
    in_code = ConfidenceCalculator({"default": calc.instruments["ES"]})
    assert in_code.horizon_scaling == "sqrt" and in_code.thresholds_for("X", 360)[2] == pytest.approx(0.5)
    # "none" stays available on request
    plain = ConfidenceCalculator.from_yaml(horizon_scaling="none").assess(x, 1000.0, instrument="ES", horizon=360)
    assert plain.horizon_scale == 1.0 and plain.level is L.VERY_HIGH and plain.horizon == 360
    # At the reference horizon the scaling is the identity.
    assert calc.thresholds_for("ES", 1440)[0] == calc.instruments["ES"]
    with pytest.raises(SignalError, match="horizon"):
        calc.thresholds_for("ES", -5)


def test_thresholds_file_without_scaling_key_defaults_to_sqrt(tmp_path):
    doc = yaml.safe_load(default_thresholds_path().read_text())
    del doc["confidence"]["horizon_scaling"]
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert ConfidenceCalculator.from_yaml(path).horizon_scaling == "sqrt"


def test_mean_standard_error_is_reported_with_the_bias(calc):
    x = sample_with_rel_std(0.004) + 2.0
    a = calc.assess(x, 1000.0, instrument="ES", mean_se=1.5)
    assert a.mean_se == 1.5 and a.bias_score_se == pytest.approx(1.5 / a.std)
    d = a.to_dict()
    assert d["mean_se"] == 1.5 and d["bias_score_se"] == pytest.approx(1.5 / a.std)
    assert "from the estimated mean" in a.summary()
    b = calc.assess(x, 1000.0, instrument="ES")
    assert b.mean_se is None and b.bias_score_se is None and "estimated mean" not in b.summary()
    with pytest.raises(SignalError, match="mean_se"):
        calc.assess(x, 1000.0, instrument="ES", mean_se=-1.0)


def test_assess_accepts_paths_objects_and_weights(calc):
    x = sample_with_rel_std(0.004)
    y = np.concatenate([x, np.full(100, 1100.0)])

    class P:
        weights = np.r_[np.ones(x.size), np.zeros(100)]

        def at(self, step: int) -> np.ndarray:
            assert step == 1440
            return y

    a = calc.assess(P(), 1000.0, instrument="ES")
    assert a.rel_std == pytest.approx(0.004) and a.level is L.HIGH
    b = calc.assess(y, 1000.0, instrument="ES")  # unweighted, the far paths widen it
    assert b.rel_std > 0.01
    with pytest.raises(DataError, match="current price"):
        calc.assess(x, 0.0, instrument="ES")


def test_zero_dispersion_is_very_high_confidence(calc):
    a = calc.assess(np.full(10, 1000.0), 1000.0, instrument="ES")
    assert a.level is L.VERY_HIGH and a.bias == "neutral" and a.rel_std == 0.0


def test_assessment_serialises_and_is_frozen(calc):
    a = calc.assess(sample_with_rel_std(0.01), 1000.0, instrument="SI", horizon=720, position_side="long")
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    # sqrt scaling at 720 min: thresholds x 0.707, so rel std 1 % is moderate for SI
    assert d["level"] == "moderate" and d["position_side"] == "long"
    assert d["thresholds"]["low"] == pytest.approx(0.02 * math.sqrt(0.5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.level = L.LOW  # type: ignore[misc]
    text = a.summary()
    assert "SI: confidence moderate at 720 min" in text and "very_high <=" in text


def test_calculator_validation():
    th = LevelThresholds(0.1, 0.2, 0.3, 0.4)
    with pytest.raises(SignalError, match="'default'"):
        ConfidenceCalculator({"ES": th})
    with pytest.raises(SignalError, match="horizon_scaling"):
        ConfidenceCalculator({"default": th}, horizon_scaling="log")  # type: ignore[arg-type]
    c = ConfidenceCalculator({"default": th}, min_entry_confidence="moderate")  # type: ignore[arg-type]
    assert c.min_entry_confidence is L.MODERATE
    assert c.with_thresholds("ES", {"very_high": 1, "high": 2, "moderate": 3, "low": 4}).instruments["ES"].low == 4


# --------------------------------------------------------------------------- YAML errors


def test_user_yaml_is_used(tmp_path):
    doc = packaged_doc()
    doc["confidence"]["instruments"]["CL"] = {"very_high": 0.01, "high": 0.02, "moderate": 0.03, "low": 0.04}
    doc["confidence"]["horizon_scaling"] = "sqrt"
    calc = ConfidenceCalculator.from_yaml(write_yaml(tmp_path, doc))
    assert calc.instruments["CL"].high == 0.02 and calc.horizon_scaling == "sqrt"
    assert calc.source.endswith("thr.yaml")


def test_malformed_yaml_names_the_file(tmp_path):
    p = write_yaml(tmp_path, "confidence: [unclosed\n", name="broken.yaml")
    with pytest.raises(ConfigError, match=r"broken\.yaml: invalid YAML"):
        ConfidenceCalculator.from_yaml(p)
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        load_thresholds(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"list\.yaml: the document must be a mapping"):
        load_thresholds(write_yaml(tmp_path, "- 1\n- 2\n", name="list.yaml"))


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda d: d["confidence"]["instruments"]["ES"].__setitem__("high", "abc"), "confidence.instruments.ES.high"),
        (lambda d: d["confidence"]["instruments"]["NQ"].pop("low"), "confidence.instruments.NQ.low"),
        (lambda d: d["confidence"]["instruments"]["GC"].__setitem__("moderate", 0.001), "confidence.instruments.GC"),
        (lambda d: d["confidence"]["instruments"]["SI"].__setitem__("great", 0.1), "confidence.instruments.SI.great"),
        (lambda d: d["confidence"]["instruments"].pop("default"), "confidence.instruments.default"),
        (lambda d: d["confidence"].__setitem__("horizon_scaling", "log"), "confidence.horizon_scaling"),
        (lambda d: d["confidence"].__setitem__("reference_horizon_minutes", 0), "confidence.reference_horizon_minutes"),
        (lambda d: d["confidence"].__setitem__("instruments", [1, 2]), "confidence.instruments"),
        (lambda d: d.pop("confidence"), "confidence"),
        (
            lambda d: d["position_management"].__setitem__("min_entry_confidence", "great"),
            "position_management.min_entry_confidence",
        ),
        (lambda d: d["particle_filter"].__setitem__("n_particles", 0.5), "particle_filter.n_particles"),
        (lambda d: d["particle_filter"].__setitem__("resample_threshold", 1.5), "particle_filter.resample_threshold"),
    ],
)
def test_invalid_values_name_file_and_key(tmp_path, edit, key):
    doc = packaged_doc()
    edit(doc)
    p = write_yaml(tmp_path, doc, name="bad_thresholds.yaml")
    with pytest.raises(ConfigError) as info:
        ConfidenceCalculator.from_yaml(p)
    msg = str(info.value)
    assert "bad_thresholds.yaml" in msg
    assert f"key '{key}'" in msg


# --------------------------------------------------------------------------- calibration


def test_calibration_recovers_known_breakpoints():
    rng = np.random.default_rng(11)
    n = 200_000
    s = rng.uniform(0.0, 0.025, n)
    breaks = {"very_high": 0.004, "high": 0.007, "moderate": 0.011, "low": 0.016}
    p = np.select([s <= 0.004, s <= 0.007, s <= 0.011, s <= 0.016], [0.90, 0.75, 0.65, 0.55], default=0.35)
    hits = rng.random(n) < p
    got = calibrate_thresholds(s, hits)
    assert list(got) == ["very_high", "high", "moderate", "low"]
    for k, v in breaks.items():
        assert got[k] == pytest.approx(v, abs=3e-4), k
    LevelThresholds(**got)  # valid and monotone


def test_calibration_on_a_smooth_hit_rate_curve():
    # hit rate 0.95 - 25 s: the target t is crossed at s = (0.95 - t) / 25.
    rng = np.random.default_rng(3)
    s = rng.uniform(0.0, 0.03, 300_000)
    hits = rng.random(s.size) < 0.95 - 25 * s
    targets = {"very_high": 0.85, "high": 0.8, "moderate": 0.7, "low": 0.5}
    got = calibrate_thresholds(s, hits, target_hit_rates=targets)
    for k, t in targets.items():
        assert got[k] == pytest.approx((0.95 - t) / 25, abs=6e-4), k


def test_calibration_is_monotone_even_on_noise():
    rng = np.random.default_rng(5)
    for _ in range(20):
        s = rng.uniform(0, 0.02, 300)
        y = rng.random(300) < 0.6
        got = calibrate_thresholds(s, y)
        vals = [got[k] for k in ("very_high", "high", "moderate", "low")]
        assert vals == sorted(vals)


def test_calibration_edge_cases():
    s = np.array([0.001, 0.002, 0.003, 0.004])
    # Every forecast right: thresholds at the largest observed rel std.
    assert set(calibrate_thresholds(s, [1, 1, 1, 1]).values()) == {0.004}
    # Every forecast wrong: no level above very_low is reachable -> thresholds 0.
    assert set(calibrate_thresholds(s, [0, 0, 0, 0]).values()) == {0.0}
    # Exact step: hit rates 1, 1, 0.5 (pooled), 0.5 -> 0.8 and 0.7 end at 0.002.
    got = calibrate_thresholds(s, [1.0, 1.0, 0.5, 0.5])
    assert got == {"very_high": 0.002, "high": 0.002, "moderate": 0.002, "low": 0.004}
    # Repeated rel stds are pooled before the fit.
    got = calibrate_thresholds([0.001, 0.001, 0.002, 0.002], [1, 0, 1, 1])
    # Means 0.5 then 1.0 violate monotonicity and pool to 0.75 at both stds.
    assert got == {"very_high": 0.0, "high": 0.002, "moderate": 0.002, "low": 0.002}


@pytest.mark.parametrize(
    "stds, outcomes, kwargs, exc, match",
    [
        ([0.1, 0.2], [1], {}, DataError, "differ in length"),
        ([0.1], [1], {}, DataError, "at least 2"),
        ([0.1, np.nan], [1, 0], {}, DataError, r"finite and >= 0 \[rows 1\]"),
        ([0.1, 0.2], [1, 2], {}, DataError, r"fractions in \[0, 1\] \[rows 1\]"),
        ([0.1, 0.2], [1, 0], {"target_hit_rates": {"very_high": 0.8}}, SignalError, "lacks"),
        (
            [0.1, 0.2],
            [1, 0],
            {"target_hit_rates": {"very_high": 0.5, "high": 0.7, "moderate": 0.6, "low": 0.5}},
            SignalError,
            "non-increasing",
        ),
    ],
)
def test_calibration_input_errors(stds, outcomes, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        calibrate_thresholds(stds, outcomes, **kwargs)


def test_default_targets_are_the_documented_ones():
    assert dict(DEFAULT_TARGET_HIT_RATES) == {"very_high": 0.8, "high": 0.7, "moderate": 0.6, "low": 0.5}


# --------------------------------------------------------------------------- warnings on the model cap the level
NEAR_INTEGRATED = (
    "near-integrated: persistence 0.999950000 >= 1 - 0.0001 (half-life 13,863 bars); long-horizon variance "
    "forecasts and the unconditional level are unreliable"
)
MEAN_DRIVES = "mean drives the forecast: drift 3.1 std over 1440 bars; a zero mean is the safer choice"
NORMAL_LIMIT = "shape nu = 1.98 near 2 (the normal limit: consider normal innovations)"


@pytest.mark.parametrize(
    ("flags", "cap"),
    [
        ((), None),
        ((NORMAL_LIMIT,), None),
        ((MEAN_DRIVES,), L.MODERATE),
        (("something new the fit noticed",), L.MODERATE),
        ((MEAN_DRIVES, NEAR_INTEGRATED), L.LOW),
        ((NEAR_INTEGRATED, NORMAL_LIMIT), L.LOW),
    ],
)
def test_confidence_cap_by_warning(flags, cap) -> None:
    from volresearch.signals import confidence_cap

    got, reasons = confidence_cap(flags)
    assert got == cap
    assert reasons == tuple(f for f in flags if f != NORMAL_LIMIT)


@pytest.mark.parametrize("rel", [0.001, 0.004, 0.007, 0.010, 0.05])
def test_flagged_model_never_shows_more_than_its_cap(calc, rel) -> None:
    x = sample_with_rel_std(rel)
    plain = calc.assess(x, 1000.0, instrument="ES")
    flagged = calc.assess(x, 1000.0, instrument="ES", model_flags=(NEAR_INTEGRATED,))
    assert flagged.raw_level == plain.level == plain.raw_level
    assert flagged.level == min(plain.level, L.LOW, key=lambda lv: lv.rank)
    assert flagged.downgraded == (plain.level > L.LOW)
    assert flagged.downgrade_reasons == ((NEAR_INTEGRATED,) if flagged.downgraded else ())
    assert flagged.std == plain.std and flagged.bias == plain.bias
    assert flagged.can_enter == (flagged.level >= flagged.min_entry_confidence)
    assert flagged.can_adjust == (flagged.level >= flagged.min_adjust_confidence)
    assert flagged.should_exit  # low is at or below the default exit level
    if flagged.downgraded:
        assert f"downgraded from {plain.level.value}" in flagged.summary()
        d = flagged.to_dict()
        assert d["downgraded"] and d["raw_level"] == plain.level.value and d["level"] == "low"
        json.dumps(d)


def test_downgrade_for_flags_applies_to_an_existing_assessment(calc) -> None:
    from volresearch.signals import downgrade_for_flags

    x = sample_with_rel_std(0.001)
    plain = calc.assess(x, 1000.0, instrument="ES")
    assert plain.level == L.VERY_HIGH and plain.can_enter
    capped = downgrade_for_flags(plain, (MEAN_DRIVES,))
    assert capped.level == L.MODERATE and capped.raw_level == L.VERY_HIGH
    assert capped.downgrade_reasons == (MEAN_DRIVES,) and not capped.can_enter and capped.can_adjust
    assert not capped.should_exit
    same = downgrade_for_flags(plain, (NORMAL_LIMIT,))
    assert same.level == L.VERY_HIGH and not same.downgraded
    lower = downgrade_for_flags(capped, (NEAR_INTEGRATED,))
    assert lower.level == L.LOW and lower.raw_level == L.VERY_HIGH and lower.should_exit
    assert any(r.startswith("confidence low") for r in lower.exit_reasons)


def test_model_flags_reads_a_fit() -> None:
    from types import SimpleNamespace

    from volresearch.signals import model_flags

    assert model_flags(None) == ()
    fit = SimpleNamespace(all_flags=(MEAN_DRIVES,), diagnostics={"warnings": ["shape nu = 0.9 <= 1: cusp"]})
    assert model_flags(fit) == (MEAN_DRIVES, "shape nu = 0.9 <= 1: cusp")
    bare = SimpleNamespace(flags=(), diagnostics={}, near_integrated=True)
    assert model_flags(bare)[0].startswith("near-integrated")
