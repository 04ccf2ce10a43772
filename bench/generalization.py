"""Does the geometric solver generalise? Every clip and its generated variants, against the plain
baseline, clean and with jitter.

For each clip (../shared/data/bvh beside the repository; the shipped examples when absent) and
each variant family (pose2rot_core.variants: twist joints, twist segments, share bones, zero-length
chains, helper bones off the bone axis, a floor-level root that stays or follows the ground track
under translating hips, Z-up rest, units x100, faster motion), one row:

- clean, ``ref`` protocol: mean rotation error of the default policy and of the plain swing
  baseline (``--twist swing``), their difference, flips under the ``ref`` and ``rest`` protocols;
- with Gaussian jitter of ``--noise`` (default 0.5 %) of the height: rotation error, flips per
  1,000 frames, jitter against the clip's own, mean and maximum position error against the clean
  positions, and the noisy tracks' own mean error (all in % of the height).

The last column says which of the issue's acceptance checks a row fails (``-`` when none):
``>plain`` (more than 0.3 deg worse than plain), ``flips`` (clean), ``pos`` (clean positions off by
more than 0.01 %), ``nflips`` (more than 1 per 1,000 frames with noise), ``jitter`` (over 1.5x),
``nmean`` (mean position error above the tracks'), ``nmax`` (over 3 %).

The ``fast`` rows say how much faster the clip is played and the frame rate a capture of the
original motion would need for the same steps (``fast x4 7.5fps``: a 30 fps clip played 4 times
faster moves as a 7.5 fps capture would). ``--speeds 2 3`` adds rows at those speed-ups.

    python bench/generalization.py [--clips A.bvh ...] [--families twist share ...] [--noise 0.005] [--seed 0]
                                   [--speeds 2 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from pose2rot_core.bvh import read_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.evaluate import evaluate_clip
from pose2rot_core.variants import FAMILIES, make_variant, played_faster

from clips import chosen_clips


def row(clip, noise: float, seed: int = 0) -> dict:
    """The figures of one clip (see the module note)."""
    ours = evaluate_clip(clip, "ref")
    plain = evaluate_clip(clip, "ref", twist="swing")
    rest = evaluate_clip(clip, "rest")
    noisy = evaluate_clip(clip, "ref", noise=noise, seed=seed)
    r = dict(ref=ours.mean_angle, plain=plain.mean_angle, flips=ours.flips, rest_flips=rest.flips,
             pos=max(ours.position_error_max, rest.position_error_max), n_ref=noisy.mean_angle,
             n_flips=1000.0 * noisy.flips / clip.num_frames, n_jitter=noisy.jitter_ratio,
             n_mean=noisy.position_error_mean, n_max=noisy.position_error_max, n_tracks=noisy.tracks_error)
    r["fails"] = failures(r)
    return r


def failures(r: dict) -> str:
    checks = {">plain": r["ref"] > r["plain"] + 0.3, "flips": r["flips"] + r["rest_flips"] > 0,
              "pos": r["pos"] > 0.01, "nflips": r["n_flips"] > 1.0, "jitter": r["n_jitter"] > 1.5,
              "nmean": r["n_mean"] > r["n_tracks"] * (1.0 + 1e-9),  # as given: equal but for rounding
              "nmax": r["n_max"] > 3.0}
    return ",".join(k for k, bad in checks.items() if bad) or "-"


HEAD = (f"{'clip':<32} {'variant':<15} {'ref°':>6} {'plain°':>6} {'Δ°':>6} {'flips':>5} {'rest fl':>7} "
        f"{'pos %':>8} | {'noisy°':>6} {'fl/1k':>6} {'jit x':>6} {'pos mean':>8} {'tracks':>7} {'pos max':>7} | fails")


def format_row(name: str, family: str, r: dict) -> str:
    return (f"{name[:32]:<32} {family:<15} {r['ref']:6.2f} {r['plain']:6.2f} {r['ref'] - r['plain']:+6.2f} "
            f"{r['flips']:5d} {r['rest_flips']:7d} {r['pos']:8.2g} | {r['n_ref']:6.2f} {r['n_flips']:6.2f} "
            f"{r['n_jitter']:6.2f} {r['n_mean']:8.3f} {r['n_tracks']:7.3f} {r['n_max']:7.2f} | {r['fails']}")


def variants(clip, families: list[str], speeds: list[int]) -> list[tuple[str, object]]:
    """(label, clip) of each row of ``clip``: the families' variants, then the clip played at each
    of ``speeds``; fast rows are labelled with their speed-up and the frame rate it amounts to."""
    out = [(family, clip if family == "original" else make_variant(clip, family, np.random.default_rng(0)))
           for family in families]
    out = [(_fast_label(clip, _speed_up(clip, v)) if family == "fast" else family, v) for family, v in out]
    return out + [(_fast_label(clip, k), played_faster(clip, k)) for k in speeds]


def _speed_up(clip, faster) -> int:
    """How many times faster ``faster`` (every k-th frame of ``clip``) plays: read from the frame counts,
    which a clip of a few frames shares between speed-ups (the first that fits)."""
    return next((k for k in range(1, 65) if -(-clip.num_frames // k) == faster.num_frames),
                round(clip.num_frames / faster.num_frames))


def _fast_label(clip, k: int) -> str:
    """'fast x4 7.5fps': the speed-up ``k`` over ``clip`` and the frame rate it amounts to."""
    return f"fast x{k} {1.0 / (k * clip.frame_time):.4g}fps"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", help="BVH clips (default: the development set)")
    parser.add_argument("--families", nargs="*", default=["original", *FAMILIES],
                        help="variant families ('original' = the clip itself)")
    parser.add_argument("--noise", type=float, default=0.005, help="jitter std, fraction of the height")
    parser.add_argument("--seed", type=int, default=0, help="seed of the jitter's random numbers")
    parser.add_argument("--speeds", nargs="*", type=int, default=[],
                        help="extra rows with the clip played this many times faster (the fast family draws its own)")
    args = parser.parse_args()
    paths = chosen_clips(args.clips)
    print(HEAD)
    rows: dict[str, list[dict]] = {}
    errors = 0
    t0 = time.perf_counter()
    for path in paths:
        clip = read_bvh(path)
        for family, variant in variants(clip, args.families, args.speeds):
            try:
                r = row(variant, args.noise, args.seed)
            except Pose2RotError as e:                  # a row the solver refuses is a finding, not the end
                print(f"{path.stem[:32]:<32} {family:<17} error: {e}", flush=True)
                errors += 1
                continue
            rows.setdefault(family.rsplit(" ", 1)[0] if family.startswith("fast") else family, []).append(r)
            print(format_row(path.stem, family, r), flush=True)
    print("-" * len(HEAD))
    for family, rs in rows.items():
        mean = {k: float(np.mean([r[k] for r in rs])) for k in rs[0] if k != "fails"}
        mean.update(flips=sum(r["flips"] for r in rs), rest_flips=sum(r["rest_flips"] for r in rs),
                    pos=max(r["pos"] for r in rs), n_max=max(r["n_max"] for r in rs))
        failed = sum(r["fails"] != "-" for r in rs)
        mean["fails"] = f"{failed} of {len(rs)} rows fail"
        print(format_row("MEAN", family, mean))
    print((f"{errors} rows refused (error lines above; not in the means)\n" if errors else "")
          + f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
