"""The Arena's ray casts: hand-computed distances, and a brute-force march along random rays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from envs.arena.rays import box_walls, circle_hits, ray_directions, ray_fractions, wall_hits

WALLS = box_walls(10.0, 20.0)  # the original arena: x in [-10, 10], y in [-20, 20]
UP = math.pi / 2


def _one(origin, heading, num_rays=1):
    return np.array([[origin]], float), ray_directions(np.array([[heading]]), num_rays)


def test_hand_computed_wall_distances() -> None:
    origins, directions = _one((0.0, 0.0), UP)
    assert wall_hits(origins, directions, WALLS)[0, 0, 0] == pytest.approx(20.0)
    origins, directions = _one((0.0, 10.0), UP)
    assert ray_fractions(wall_hits(origins, directions, WALLS), 20.0)[0, 0, 0] == pytest.approx(0.5)
    origins, directions = _one((0.0, 0.0), math.pi / 4)  # to the corner region: x = 10 first
    assert wall_hits(origins, directions, WALLS)[0, 0, 0] == pytest.approx(10.0 * math.sqrt(2.0))
    origins, directions = _one((-4.0, 0.0), math.pi)  # straight left
    assert wall_hits(origins, directions, WALLS)[0, 0, 0] == pytest.approx(6.0)
    far = ray_fractions(wall_hits(*_one((0.0, -19.0), -UP), WALLS), 20.0)
    assert far[0, 0, 0] == pytest.approx(0.05)


def test_a_ray_along_a_wall_does_not_cross_it() -> None:
    inner = np.array([[[-5.0, 0.0], [5.0, 0.0]]])  # a horizontal inner wall on y = 0
    origins, directions = _one((-8.0, 0.0), 0.0)  # running along it
    assert np.isinf(wall_hits(origins, directions, inner)[0, 0, 0])
    origins, directions = _one((0.0, -3.0), UP)  # crossing it
    assert wall_hits(origins, directions, inner)[0, 0, 0] == pytest.approx(3.0)
    origins, directions = _one((0.0, 3.0), UP)  # pointing away
    assert np.isinf(wall_hits(origins, directions, inner)[0, 0, 0])
    origins, directions = _one((8.0, -3.0), UP)  # crossing the wall's line beyond its end
    assert np.isinf(wall_hits(origins, directions, inner)[0, 0, 0])


def test_hand_computed_circle_distances_and_the_own_body_unseen() -> None:
    # Body 0 at the origin facing up, body 1 at (0, 5), both radius 1.
    origins = np.array([[[0.0, 0.0], [0.0, 5.0]]])
    directions = ray_directions(np.array([[UP, -UP]]), 1)
    centers, radii = origins.copy(), np.ones((1, 2))
    own = np.eye(2, dtype=bool)
    hits = circle_hits(origins, directions, centers, radii, ignore=own)
    assert hits[0, 0, 0] == pytest.approx(4.0) and hits[0, 1, 0] == pytest.approx(4.0)
    assert circle_hits(origins, directions, centers, radii)[0, 0, 0] == 0.0  # without ignore: inside itself
    sideways = circle_hits(origins, ray_directions(np.array([[0.0, 0.0]]), 1), centers, radii, ignore=own)
    assert np.isinf(sideways[0, 0, 0])  # a ray to +x from (0, 0) passes beside the body at (0, 5)
    grazing = circle_hits(np.array([[[1.0, 0.0]]]), ray_directions(np.array([[UP]]), 1), np.array([[[0.0, 5.0]]]), 1.0)
    assert grazing[0, 0, 0] == pytest.approx(5.0)  # tangent at (1, 5)
    behind = circle_hits(origins[:, :1], ray_directions(np.array([[-UP]]), 1), np.array([[[0.0, 5.0]]]), 1.0)
    assert np.isinf(behind[0, 0, 0])


def test_the_fan_covers_180_degrees_centred_on_the_heading() -> None:
    directions = ray_directions(np.array([[UP]]), 20)
    angles = np.arctan2(directions[0, 0, :, 1], directions[0, 0, :, 0])
    assert angles[0] == pytest.approx(0.0, abs=1e-12) and angles[-1] == pytest.approx(math.pi)
    np.testing.assert_allclose(np.diff(angles), math.pi / 19)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=-1), 1.0)


def _march(origin, direction, centers, radii, length, step=1e-3):
    """The first point along the ray inside a circle or past the box's walls, by walking it."""
    t = np.arange(0.0, length + step, step)
    x = origin + t[:, None] * direction
    outside = (np.abs(x[:, 0]) > 10.0) | (np.abs(x[:, 1]) > 20.0)
    inside = (np.linalg.norm(x[:, None, :] - centers[None], axis=-1) <= radii).any(axis=1)
    first = np.flatnonzero(outside | inside)
    return t[first[0]] if first.size else math.inf


def test_random_rays_agree_with_a_brute_force_march() -> None:
    rng = np.random.default_rng(0)
    B, K, R = 3, 3, 5
    origins = np.stack([rng.uniform(-9, 9, (B, K)), rng.uniform(-19, 19, (B, K))], axis=-1)
    headings = rng.uniform(-math.pi, math.pi, (B, K))
    directions = ray_directions(headings, R)
    radii = rng.uniform(0.5, 1.5, (B, K))
    own = np.eye(K, dtype=bool)
    got = np.minimum(wall_hits(origins, directions, WALLS), circle_hits(origins, directions, origins, radii, ignore=own))
    for b in range(B):
        for k in range(K):
            others = [m for m in range(K) if m != k]
            for r in range(R):
                expected = _march(origins[b, k], directions[b, k, r], origins[b, others], radii[b, others], 50.0)
                assert got[b, k, r] == pytest.approx(expected, abs=2e-3)
