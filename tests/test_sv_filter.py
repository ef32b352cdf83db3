"""The Heston/SVCJ particle filter: closed-form limit, tracking of a known variance path, likelihood, seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from volresearch.errors import ConfigError, SimulationError
from volresearch.simulate._rng import StreamState
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.kernels.heston import simulate_sv
from volresearch.simulate.sv_filter import stationary_particles, sv_filter

DT = 1.0 / 252.0
HESTON = {"mu": 0.05, "kappa": 4.0, "theta": 0.04, "xi": 0.5, "rho": -0.7}
SVCJ = {**HESTON, "lam": 5.0, "mu_y": -0.03, "sigma_y": 0.04, "mu_v": 0.05, "rho_j": -0.2}


def _simulate(params, n, seed):
    ss = StreamState.create(seed, 1)
    x, v = np.zeros(1), np.array([params["theta"]])
    xs, vs = simulate_sv(x, v, n, DT, key=ss.key, stream=ss.stream, counter=ss.counter,
                         ppf=innovation_table("normal", {}).kernel_args, store_v=True, **params)  # fmt: skip
    return np.diff(np.concatenate([[0.0], xs[:, 0]])), vs[:, 0]


@pytest.fixture(scope="module")
def heston_path():
    return _simulate(HESTON, 3000, 3)


def test_constant_variance_limit_is_the_gaussian_likelihood():
    """xi -> 0 with v0 = theta: every bar is N((mu - theta/2) dt, theta dt), a closed-form likelihood."""
    theta, mu = 0.04, 0.05
    r = np.random.default_rng(0).normal((mu - theta / 2) * DT, math.sqrt(theta * DT), 1500)
    res = sv_filter({"mu": mu, "kappa": 3.0, "theta": theta, "xi": 1e-4, "rho": 0.0}, r, DT, n_particles=300,
                    v0=[theta])  # fmt: skip
    ref = np.sum(-0.5 * (np.log(2 * np.pi * theta * DT) + (r - (mu - theta / 2) * DT) ** 2 / (theta * DT)))
    assert res.loglik == pytest.approx(ref, abs=1e-2)


def test_tracks_the_true_variance_and_peaks_near_the_true_kappa(heston_path):
    r, v_true = heston_path
    f = sv_filter(HESTON, r, DT, n_particles=1000, seed=1)
    assert np.corrcoef(f.v_mean, v_true)[0, 1] > 0.85
    assert np.median(f.ess) > 0.5 * 1000  # the conditional Gaussian weights keep the particles alive
    inside = np.abs(v_true - f.v_mean) <= 2.0 * f.v_sd
    assert 0.85 < inside.mean() <= 1.0  # the filtered band covers the truth about as often as it says
    ll = {k: sv_filter({**HESTON, "kappa": k}, r, DT, n_particles=1000, seed=1).loglik for k in (1.0, 4.0, 16.0)}
    assert ll[4.0] > ll[1.0] and ll[4.0] > ll[16.0]


def test_same_seed_same_result_and_a_smooth_surface(heston_path):
    r, _ = heston_path
    a = sv_filter(HESTON, r, DT, n_particles=500, seed=7)
    b = sv_filter(HESTON, r, DT, n_particles=500, seed=7)
    assert a.loglik == b.loglik and np.array_equal(a.particles, b.particles)
    assert sv_filter(HESTON, r, DT, n_particles=500, seed=8).loglik != a.loglik
    near = sv_filter({**HESTON, "theta": 0.04 + 1e-5}, r, DT, n_particles=500, seed=7).loglik
    assert abs(near - a.loglik) < 0.5  # common random numbers + sorted resampling: no jump of the surface


def test_svcj_data_prefer_the_svcj_likelihood():
    r, v_true = _simulate(SVCJ, 3000, 4)
    fj = sv_filter(SVCJ, r, DT, n_particles=1000, seed=1)
    fh = sv_filter(HESTON, r, DT, n_particles=1000, seed=1)
    assert fj.loglik > fh.loglik + 50.0
    assert np.corrcoef(fj.v_mean, v_true)[0, 1] > 0.8
    assert "log-likelihood" in fj.summary()


def test_stationary_particles_and_errors():
    p = stationary_particles(4.0, 0.04, 0.5, 4000)
    assert p.mean() == pytest.approx(0.04, rel=0.01) and p.std() == pytest.approx(math.sqrt(0.04 * 0.25 / 8), rel=0.02)
    q = stationary_particles(4.0, 0.04, 0.5, 4000, mean=0.09, sd=0.01)
    assert q.mean() == pytest.approx(0.09, rel=0.01) and q.std() == pytest.approx(0.01, rel=0.02)
    with pytest.raises(ConfigError, match="needs parameter 'xi'"):
        sv_filter({"kappa": 1.0, "theta": 0.04, "rho": 0.0}, [0.0], DT)
    with pytest.raises(SimulationError, match="positions \\[1\\]"):
        sv_filter(HESTON, [0.0, np.nan], DT)
    with pytest.raises(ConfigError, match="invalid SV parameters"):
        sv_filter({**HESTON, "kappa": -1.0}, [0.0], DT)


def test_sort_order_is_a_stable_argsort():
    """The resampling's linear-time bucket sort gives numpy's stable order, ties and point masses included."""
    from volresearch.simulate.kernels.sv_filter import sort_order

    rng = np.random.default_rng(0)
    for n in (2, 3, 17, 2000):
        half = np.r_[np.zeros(n // 2), rng.exponential(1.0, n - n // 2)]  # QE's mass at zero
        for x in (rng.gamma(0.5, 1.0, n), np.zeros(n), rng.permutation(half), rng.gamma(2.0, 1.0, n) ** 3):
            order = np.empty(n, dtype=np.int64)
            sort_order(x, order, np.empty(n + 1, dtype=np.int64), np.empty(n))
            np.testing.assert_array_equal(order, np.argsort(x, kind="stable"))
