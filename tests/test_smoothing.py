"""Noise handling: outliers, zero-phase confidence-weighted smoothing, and the solve pipeline."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pose2rot_core.bvh import read_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.evaluate import add_noise, evaluate_clip, jitter
from pose2rot_core.smoothing import (clean_positions, estimate_noise, find_outliers, local_quadratic,
                                     mark_gaps, parse_smooth)
from pose2rot_core.solvers import prepare_tracks
from pose2rot_core.tracks_io import tracks_from_bvh

CMU = Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"


@pytest.fixture(scope="module")
def cmu():
    return read_bvh(CMU)


def test_parse_smooth():
    assert parse_smooth("auto") == "auto" and parse_smooth(" OFF ") == "off" and parse_smooth(None) == "auto"
    assert parse_smooth("0.03") == pytest.approx(0.03) and parse_smooth(0) == "off"
    for bad in ("strong", -1, float("nan")):
        with pytest.raises(Pose2RotError):
            parse_smooth(bad)


def test_sine_passes_without_phase_shift():
    fps, T = 60.0, 600
    t = np.arange(T) / fps
    x = np.zeros((T, 1, 3))
    x[:, 0, 0] = np.sin(2 * np.pi * 1.0 * t)
    out, _ = local_quadratic(x, np.ones((T, 1)), np.array([0.05 * fps]))
    inner = slice(30, -30)
    # a lag would show as a shifted cross-correlation peak; the fit stays on the sine
    assert np.abs(out[inner, 0, 0] - x[inner, 0, 0]).max() < 0.01
    lags = np.arange(-5, 6)
    corr = [np.dot(np.roll(out[:, 0, 0], k)[inner], x[inner, 0, 0]) for k in lags]
    assert lags[int(np.argmax(corr))] == 0


def test_smoothing_reduces_white_noise_and_estimates_it():
    rng = np.random.default_rng(1)
    fps, T, J = 60.0, 400, 4
    t = np.arange(T) / fps
    clean = np.stack([np.sin(2 * np.pi * 0.7 * t + j) for j in range(J)], 1)[..., None] * np.ones(3)
    noisy = clean + rng.normal(scale=0.02, size=clean.shape)
    assert np.allclose(estimate_noise(noisy), 0.02, rtol=0.2)
    out, info = clean_positions(noisy, height=1.0, fps=fps, smooth="auto")
    assert info.active
    assert np.sqrt(((out - clean) ** 2).mean()) < 0.5 * np.sqrt(((noisy - clean) ** 2).mean())


def test_confidence_weighting_ignores_low_confidence_samples():
    T = 200
    x = np.zeros((T, 1, 3))
    x[100, 0] = 1.0  # a wrong sample with (almost) no confidence
    w = np.ones((T, 1))
    w[100] = 0.0
    out, _ = local_quadratic(x, w, np.array([4.0]))
    assert np.abs(out).max() < 1e-9
    unweighted, _ = local_quadratic(x, np.ones((T, 1)), np.array([4.0]))
    assert np.abs(unweighted).max() > 0.05


def test_low_confidence_samples_become_gaps(cmu):
    tracks = tracks_from_bvh(cmu, reference_frame=0)
    conf = np.ones((tracks.num_frames, tracks.skeleton.num_joints))
    conf[50:53, 5] = 0.05
    gated, report = mark_gaps(replace(tracks, confidence=conf), "off")
    assert np.isnan(gated.positions[50:53, 5]).all() and np.isnan(gated.positions).sum() == 9
    assert any("confidence" in line for line in report)


def test_outlier_spikes_detected_and_removed(cmu):
    tracks = tracks_from_bvh(cmu, reference_frame=0)
    h = tracks.skeleton.height
    assert not find_outliers(tracks.positions, h).any()  # clean mocap has none
    noisy = add_noise(tracks, 0.005, seed=3)
    P = noisy.positions.copy()
    spikes = [(40, 3), (120, 17), (200, 30)]
    for t, j in spikes:
        P[t, j] += np.array([0.1, -0.05, 0.08]) * h
    found = find_outliers(P, h)
    assert {tuple(ix) for ix in np.argwhere(found)} == set(spikes)
    prepared, _, report, _ = prepare_tracks(replace(noisy, positions=P), smooth="auto")
    assert any("outlier" in line for line in report)
    for t, j in spikes:
        assert np.linalg.norm(prepared.positions[t, j] - tracks.positions[t, j]) < 0.02 * h


def test_auto_leaves_clean_clip_untouched(cmu):
    tracks = tracks_from_bvh(cmu, reference_frame=0)
    prepared, _, _, info = prepare_tracks(tracks, smooth="auto")
    assert not info.changed
    assert np.abs(prepared.positions - tracks.positions).max() <= 1e-9
    on = evaluate_clip(cmu, protocol="ref", smooth="auto")
    off = evaluate_clip(cmu, protocol="ref", smooth="off")
    assert on.mean_angle - off.mean_angle <= 0.3


def test_auto_on_noisy_clip_beats_off(cmu):
    off = evaluate_clip(cmu, protocol="ref", noise=0.005, seed=0, smooth="off")
    on = evaluate_clip(cmu, protocol="ref", noise=0.005, seed=0, smooth="auto")
    assert on.mean_angle < off.mean_angle
    assert on.jitter_ratio < 0.5 * off.jitter_ratio
    assert on.flips < off.flips
    assert on.position_error_mean < on.tracks_error  # closer to the clean positions than the input


def test_jitter_is_zero_for_constant_velocity():
    from pose2rot_core.rotations import axis_angle_to_matrix

    t = np.arange(50)[:, None] * 0.05
    R = axis_angle_to_matrix(np.broadcast_to([0.0, 0.0, 1.0], (50, 3)), t[:, 0])[:, None]
    assert jitter(R) < 1e-6
    wobble = axis_angle_to_matrix(np.broadcast_to([0.0, 0.0, 1.0], (50, 3)), t[:, 0] + 0.01 * (-1) ** np.arange(50))
    assert jitter(wobble[:, None]) == pytest.approx(np.degrees(0.04), rel=1e-6)


def test_smooth_rotations_is_zero_phase_and_removes_jitter():
    from pose2rot_core.rotations import axis_angle_to_matrix, geodesic_angle
    from pose2rot_core.smoothing import smooth_rotations

    T = 240
    t = np.arange(T)
    angle = 0.8 * np.sin(2 * np.pi * t / 120.0)  # a slow swing about a fixed axis
    axis = np.array([0.3, 0.9, 0.3])
    clean = axis_angle_to_matrix(np.broadcast_to(axis, (T, 3)), angle)[:, None]
    rng = np.random.default_rng(3)
    jitter = axis_angle_to_matrix(rng.normal(size=(T, 3)), rng.normal(0, 0.03, size=T))[:, None]
    noisy = jitter @ clean
    out = smooth_rotations(noisy, sigma=3.0)
    err_noisy = np.degrees(geodesic_angle(noisy, clean)).mean()
    err_out = np.degrees(geodesic_angle(out, clean)).mean()
    assert err_out < 0.5 * err_noisy
    # zero phase: smoothing the clean swing moves it by far less than one frame's step
    step = np.degrees(geodesic_angle(clean[1:], clean[:-1])).max()
    assert np.degrees(geodesic_angle(smooth_rotations(clean, 3.0), clean)).max() < 0.5 * step
    # proper rotations
    assert np.allclose(np.linalg.det(out), 1.0)


def test_noisy_tracks_with_a_joint_without_data_still_solve(cmu):
    """Smoothing keeps bone lengths from each parent; a joint whose parent has no data at all keeps
    its own (smoothed) track instead of inheriting NaN."""
    from pose2rot_core.solvers import solve

    tracks = tracks_from_bvh(cmu, reference_frame=0)
    rng = np.random.default_rng(0)
    P = tracks.positions + rng.normal(size=tracks.positions.shape) * 0.005 * cmu.skeleton.height
    elbow = cmu.skeleton.names.index("lForeArm")
    P[:, elbow] = np.nan
    sol = solve(replace(tracks, positions=P), smooth="auto")
    assert np.isfinite(sol.rotations).all()
    assert any("no data in any frame for 'lForeArm'" in line for line in sol.report), sol.report
    hand = cmu.skeleton.names.index("lHand")
    assert np.isfinite(sol.positions[:, hand]).all()


def test_learned_solvers_need_a_checkpoint(cmu):
    from pose2rot_core.solvers import solve

    for solver in ("learned", "hybrid"):
        with pytest.raises(Pose2RotError, match=f"checkpoint is not set: the {solver} solver needs one"):
            solve(tracks_from_bvh(cmu), solver=solver)


def test_unknown_confidence_trusts_known_positions(cmu):
    from pose2rot_core.solvers import solve

    tracks = tracks_from_bvh(cmu, reference_frame=0)
    conf = np.full(tracks.positions.shape[:2], np.nan)
    conf[::7, 3] = 0.0  # known to be unreliable: these become gaps and are filled
    sol = solve(replace(tracks, confidence=conf))
    plain = solve(tracks)
    assert np.isfinite(sol.rotations).all()
    assert not any("has no data" in line or "no data in any frame" in line for line in sol.report)
    keep = [j for j in range(cmu.skeleton.num_joints) if j != 3]
    assert np.abs(sol.positions[:, keep] - plain.positions[:, keep]).max() < 1e-6 * cmu.skeleton.height
