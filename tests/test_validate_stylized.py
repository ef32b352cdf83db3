"""Tests of volresearch.validate.stylized on series with known properties."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.tsa.stattools import acf

from volresearch._util import jsonable as _jsonable
from volresearch.errors import DataError
from volresearch.validate import stylized as sf


def simulate_gjr_t(
    n: int,
    seed: int,
    *,
    omega: float = 0.02,
    alpha: float = 0.08,
    gamma: float = 0.0,
    beta: float = 0.9,
    nu: float = 5.0,
) -> np.ndarray:
    """GJR-GARCH(1,1) returns with unit-variance Student-t innovations, in log return units (percent / 100)."""
    g = np.random.default_rng(seed)
    burn = 1000
    z = g.standard_t(nu, n + burn) / math.sqrt(nu / (nu - 2.0))
    s2 = omega / (1.0 - alpha - beta - gamma / 2.0)
    r = np.empty(n + burn)
    for t in range(n + burn):
        r[t] = math.sqrt(s2) * z[t]
        s2 = omega + (alpha + gamma * (r[t] < 0)) * r[t] ** 2 + beta * s2
    return r[burn:] / 100.0


def facts(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index("statistic")


@pytest.fixture(scope="module")
def garch_returns() -> np.ndarray:
    return simulate_gjr_t(8000, 1)


@pytest.fixture(scope="module")
def normal_returns() -> np.ndarray:
    return np.random.default_rng(7).standard_normal(8000) * 0.01


FAT_TAIL_AND_CLUSTERING = [
    "excess_kurtosis",
    "hill_left",
    "hill_right",
    "student_t_aic",
    "jarque_bera",
    "acf_abs_significant_lags",
    "acf_sq_significant_lags",
    "ljung_box_sq_lag10",
    "ljung_box_sq_lag20",
    "arch_lm_lag10",
]


class TestHill:
    @pytest.mark.parametrize("tail_index", [2.0, 3.0, 4.0])
    def test_recovers_pareto_tail_index(self, tail_index):
        g = np.random.default_rng(int(tail_index * 10))
        x = g.pareto(tail_index, 400_000) + 1.0  # Pareto(x_m = 1, alpha)
        k = 4000  # standard error about alpha / sqrt(k) = 1.6%
        assert sf.hill_estimator(x, k) == pytest.approx(tail_index, rel=0.06)
        # and with the default threshold on a sample of 100,000
        assert sf.hill_estimator(x[:100_000], sf.hill_k(100_000)) == pytest.approx(tail_index, rel=0.15)

    def test_hand_computation(self):
        x = np.array([1.0, 8.0, 2.0, 4.0, 0.5, 16.0])
        # top k=3: 16, 8, 4; threshold X_(4) = 2
        gamma = (math.log(16) + math.log(8) + math.log(4)) / 3 - math.log(2)
        assert sf.hill_estimator(x, 3) == pytest.approx(1 / gamma)

    def test_k_rule(self):
        assert sf.hill_k(5000) == 71 and sf.hill_k(100) == 10

    def test_errors(self):
        with pytest.raises(DataError, match="k must satisfy"):
            sf.hill_estimator(np.arange(1.0, 5.0), 4)
        with pytest.raises(DataError, match="largest values of x must be positive"):
            sf.hill_estimator(np.array([-3.0, -2.0, -1.0, 1.0]), 2)


class TestACF:
    def test_table_matches_statsmodels(self, garch_returns):
        t = sf.acf_table(garch_returns, 30)
        assert list(t.columns) == ["lag", "acf_r", "acf_abs", "acf_sq", "band"]
        np.testing.assert_allclose(t["acf_abs"], acf(np.abs(garch_returns), nlags=30, fft=False)[1:], atol=1e-12)
        np.testing.assert_allclose(t["acf_sq"], acf(garch_returns**2, nlags=30, fft=False)[1:], atol=1e-12)
        assert t["band"].iloc[0] == pytest.approx(1.959964 / math.sqrt(garch_returns.size), rel=1e-6)

    def test_significant_lags(self):
        assert sf.significant_lags([0.5, 0.4, 0.01, 0.5], 0.1) == 2
        assert sf.significant_lags([0.05, 0.4], 0.1) == 0
        assert sf.significant_lags([0.5, 0.4], 0.1) == 2
        assert sf.significant_lags([-0.5, 0.4, 0.0], 0.1) == 0
        assert sf.significant_lags([-0.5, 0.4, 0.0], 0.1, two_sided=True) == 2


class TestStylizedFacts:
    def test_schema(self, garch_returns):
        df = sf.stylized_facts(garch_returns, prices=100 * np.exp(np.cumsum(garch_returns)))
        assert list(df.columns) == ["group", "statistic", "value", "pvalue", "criterion", "passed"]
        assert set(df["group"]) == {
            "descriptives",
            "normality",
            "distribution_fit",
            "tails",
            "autocorrelation",
            "clustering",
            "leverage",
            "stationarity",
        }
        assert df["statistic"].is_unique
        with_criterion = df["criterion"].notna()
        assert df.loc[with_criterion, "passed"].map(lambda v: isinstance(v, bool)).all()
        assert df.loc[~with_criterion, "passed"].isna().all()
        for q in sf.QUANTILE_LEVELS:
            assert f"quantile_{q:g}" in set(df["statistic"])
        json.dumps(_jsonable(df), allow_nan=False)

    def test_garch_t_passes_fat_tail_and_clustering(self, garch_returns):
        f = facts(sf.stylized_facts(garch_returns))
        for name in FAT_TAIL_AND_CLUSTERING:
            assert f.loc[name, "passed"] is True, name
        assert f.loc["excess_kurtosis", "value"] > 1.0

    def test_iid_normal_fails_fat_tail_and_clustering(self, normal_returns):
        f = facts(sf.stylized_facts(normal_returns))
        for name in FAT_TAIL_AND_CLUSTERING:
            assert f.loc[name, "passed"] is False, name
        # and shows no autocorrelation
        assert f.loc["ljung_box_r_lag10", "passed"] is True
        assert f.loc["ljung_box_r_lag20", "passed"] is True

    def test_descriptives_and_fits_match_scipy(self, garch_returns):
        r = garch_returns
        prices = 50 * np.exp(np.cumsum(r))
        f = facts(sf.stylized_facts(r, prices=prices))
        assert f.loc["variance", "value"] == pytest.approx(np.var(r, ddof=1))
        assert f.loc["skewness", "value"] == pytest.approx(stats.skew(r, bias=False))
        assert f.loc["excess_kurtosis", "value"] == pytest.approx(stats.kurtosis(r, bias=False))
        assert f.loc["excess_kurtosis", "pvalue"] == pytest.approx(stats.kurtosistest(r, alternative="greater").pvalue)
        assert f.loc["quantile_0.05", "value"] == pytest.approx(np.quantile(r, 0.05))
        assert f.loc["jarque_bera", "pvalue"] == pytest.approx(stats.jarque_bera(r).pvalue)
        ll = stats.norm.logpdf(r, r.mean(), r.std()).sum()
        assert f.loc["normal_loglik", "value"] == pytest.approx(ll)
        assert f.loc["normal_aic", "value"] == pytest.approx(4 - 2 * ll)
        # Student-t: MLE at least as good as scipy's own fit on the raw data
        df_, loc, scale = stats.t.fit(r)
        assert f.loc["student_t_loglik", "value"] >= stats.t.logpdf(r, df_, loc, scale).sum() - 1e-3
        assert f.loc["student_t_aic", "value"] == pytest.approx(6 - 2 * f.loc["student_t_loglik", "value"])
        s, _, scale = stats.lognorm.fit(prices, floc=0)
        ll_ln = stats.lognorm.logpdf(prices, s, 0, scale).sum()
        assert f.loc["lognormal_loglik", "value"] == pytest.approx(ll_ln, rel=1e-9)
        assert f.loc["lognormal_aic", "value"] == pytest.approx(4 - 2 * ll_ln, rel=1e-9)

    def test_shapiro_uses_deterministic_subsample_above_5000(self, garch_returns):
        r = garch_returns
        assert r.size > sf.SHAPIRO_MAX_N
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            f = facts(sf.stylized_facts(r))
        sub = r[np.round(np.linspace(0, r.size - 1, sf.SHAPIRO_MAX_N)).astype(int)]
        assert f.loc["shapiro_wilk", "value"] == pytest.approx(stats.shapiro(sub).statistic)
        assert f.loc["shapiro_wilk", "pvalue"] == pytest.approx(stats.shapiro(sub).pvalue)

    def test_unit_root_verdicts_random_walk_versus_white_noise(self):
        g = np.random.default_rng(3)
        r = g.standard_normal(3000) * 0.01
        walk = facts(sf.stylized_facts(r, prices=100 * np.exp(np.cumsum(r))))
        assert walk.loc["adf_log_price", "passed"] is True  # unit root not rejected
        assert walk.loc["kpss_log_price", "passed"] is True  # level stationarity rejected
        assert walk.loc["adf_returns", "passed"] is True  # returns: unit root rejected
        assert walk.loc["kpss_returns", "passed"] is True  # returns: stationarity not rejected
        # a stationary "price" (white noise in logs) fails both unit-root verdicts
        noise = facts(sf.stylized_facts(r, prices=100 * np.exp(g.standard_normal(3000) * 0.01)))
        assert noise.loc["adf_log_price", "passed"] is False
        assert noise.loc["kpss_log_price", "passed"] is False
        # without prices the cumulative returns stand in for the log price
        assert facts(sf.stylized_facts(r)).loc["adf_cum_returns", "passed"] is True

    def test_leverage_sign_on_gjr(self):
        r = simulate_gjr_t(8000, 2, alpha=0.03, gamma=0.1, beta=0.9)
        f = facts(sf.stylized_facts(r, asset_class="equity_index"))
        assert f.loc["leverage_mean", "value"] < 0
        assert f.loc["leverage_mean", "passed"] is True
        assert f.loc["leverage_lag1", "passed"] is True
        manual = np.corrcoef(r[:-1], np.abs(r[1:]))[0, 1]
        assert f.loc["leverage_lag1", "value"] == pytest.approx(manual)
        metal = facts(sf.stylized_facts(r, asset_class="metal"))
        assert metal.loc["leverage_mean", "passed"] is False

    def test_symmetric_garch_passes_metal_leverage(self):
        r = simulate_gjr_t(8000, 3)
        f = facts(sf.stylized_facts(r, asset_class="metal"))
        assert f.loc["leverage_mean", "passed"] is True
        other = facts(sf.stylized_facts(r, asset_class="other"))
        assert other.loc["leverage_mean", "passed"] is None

    def test_leverage_test_keeps_its_size_under_volatility_clustering(self):
        # symmetric GARCH-t has no leverage; the robust p-value must not over-reject
        seeds = 30
        rejected = sum(
            not facts(sf.stylized_facts(simulate_gjr_t(4000, 300 + s), asset_class="metal")).loc[
                "leverage_mean", "passed"
            ]
            for s in range(seeds)
        )
        assert rejected <= stats.binom.ppf(0.999, seeds, 0.05)

    def test_errors(self):
        with pytest.raises(DataError, match="returns contains NaN"):
            sf.stylized_facts(np.r_[np.zeros(50), np.nan])
        with pytest.raises(DataError, match="returns needs at least 30 values"):
            sf.stylized_facts(np.ones(10))
        with pytest.raises(DataError, match="max_lag must satisfy"):
            sf.stylized_facts(np.random.default_rng(0).standard_normal(60), max_lag=40)
        with pytest.raises(DataError, match="prices must be positive"):
            sf.stylized_facts(np.random.default_rng(0).standard_normal(60), prices=-np.ones(60), max_lag=10)
        with pytest.raises(DataError, match="unknown asset_class"):
            sf.stylized_facts(np.random.default_rng(0).standard_normal(60), asset_class="bond", max_lag=10)


class TestCompare:
    def test_paths_are_differenced_within_each_path_only(self):
        g = np.random.default_rng(5)
        steps, paths = 600, 8
        incr = g.standard_normal((steps - 1, paths)) * 0.01
        # every path starts at a very different level: differencing across paths would add huge jumps
        logp = np.vstack([np.arange(paths) * 3.0, np.arange(paths) * 3.0 + np.cumsum(incr, axis=0)])
        real = g.standard_normal(2000) * 0.01
        table = sf.compare_stylized_facts(real, {"model": logp})
        row = table.set_index("statistic").loc["variance"]
        pooled = np.concatenate([incr[:, j] for j in range(paths)])
        assert row["model"] == pytest.approx(np.var(pooled, ddof=1))
        assert list(table.columns[:5]) == ["group", "statistic", "criterion", "real", "real_passed"]
        assert list(table.columns[5:]) == ["model", "model_passed"]

    def test_kinds_and_sequences_agree(self):
        g = np.random.default_rng(6)
        rets = [g.standard_normal(400) * 0.01 for _ in range(3)]
        logp = [np.r_[0.0, np.cumsum(x)] for x in rets]
        real = g.standard_normal(1000) * 0.01
        a = sf.compare_stylized_facts(real, {"m": rets}, kind="returns")
        b = sf.compare_stylized_facts(real, {"m": logp})
        c = sf.compare_stylized_facts(real, {"m": np.column_stack(logp)})
        np.testing.assert_allclose(a["m"], b["m"], rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(b["m"], c["m"], rtol=1e-9, equal_nan=True)
        d = sf.compare_stylized_facts(real, {"m": np.column_stack(logp)}, max_paths=1)
        assert d.set_index("statistic").loc["n", "m"] == 400

    def test_real_and_simulated_facts_side_by_side(self, garch_returns, normal_returns):
        steps = 4001
        garch_paths = np.column_stack([np.r_[0.0, np.cumsum(simulate_gjr_t(steps - 1, 100 + j))] for j in range(2)])
        iid_paths = np.cumsum(np.random.default_rng(8).standard_normal((steps, 2)) * 0.01, axis=0)
        table = sf.compare_stylized_facts(
            garch_returns,
            {"garch": garch_paths, "iid": iid_paths},
            real_prices=np.exp(np.cumsum(garch_returns)),
        ).set_index("statistic")
        for name in ("acf_abs_significant_lags", "arch_lm_lag10", "excess_kurtosis"):
            assert table.loc[name, "real_passed"] is True
            assert table.loc[name, "garch_passed"] is True
            assert table.loc[name, "iid_passed"] is False
        # price-only rows are absent for the simulated models
        assert pd.isna(table.loc["lognormal_loglik", "garch"])
        assert table.loc["lognormal_loglik", "garch_passed"] is None
        # unit-root rows line up (log price for the real series, cumulative returns for the models)
        assert table.loc["adf_log_price", "garch_passed"] is True

    def test_errors(self):
        g = np.random.default_rng(0)
        with pytest.raises(DataError, match="'real' is reserved"):
            sf.compare_stylized_facts(g.standard_normal(100), {"real": g.standard_normal((100, 2))})
        with pytest.raises(DataError, match="unknown kind"):
            sf.returns_from_paths(g.standard_normal((10, 2)), kind="prices")
