"""Laser rays for the Arena, cast analytically for every ray of every body of every arena at once.

A body sees through ``R`` rays fanned ahead of it; each reports the fraction of its length at which
it first hits something (1.0: nothing within reach), as the original game's Box2D ray casts did.
Here a ray is the segment ``p + t d`` (``d`` a unit vector, ``0 <= t <= length``) and the first hit
is solved in closed form against

- wall segments ``a + u (b - a)``, ``0 <= u <= 1``: two cross products give ``t`` and ``u``;
- circles (bodies) ``|x - c| = r``: the smaller root of ``t^2 + 2 t d.(p - c) + |p - c|^2 - r^2``.

Everything is numpy broadcasting over (arenas, bodies, rays, obstacles): no Python loop over
arenas, bodies or rays, so a batch of 1024 arenas costs a handful of array operations.
"""

from __future__ import annotations

import numpy as np

_PARALLEL = 1e-12  # |cross(d, e)| below this: the ray runs along the wall and never crosses it


def ray_directions(headings: np.ndarray, num_rays: int, fan: float = np.pi) -> np.ndarray:
    """Unit vectors (..., R, 2) of ``num_rays`` rays spread evenly over ``fan`` radians, centred on
    each heading (radians, 0 = +x, counter-clockwise), first ray rightmost."""
    if num_rays < 1:
        raise ValueError(f"num_rays must be at least 1, got {num_rays}")
    offsets = np.zeros(1) if num_rays == 1 else np.linspace(-fan / 2, fan / 2, num_rays)
    angles = np.asarray(headings, np.float64)[..., None] + offsets
    return np.stack([np.cos(angles), np.sin(angles)], axis=-1)


def box_walls(half_width: float, half_height: float) -> np.ndarray:
    """The four walls (4, 2, 2) of the box ``|x| <= half_width``, ``|y| <= half_height``."""
    w, h = half_width, half_height
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], np.float64)
    return np.stack([corners, np.roll(corners, -1, axis=0)], axis=1)


def wall_hits(origins: np.ndarray, directions: np.ndarray, walls: np.ndarray) -> np.ndarray:
    """Distance along each ray to the first wall it crosses (inf if none).

    ``origins`` (..., 2), ``directions`` (..., R, 2) unit vectors, ``walls`` (S, 2, 2) segments
    shared by every arena; returns (..., R).
    """
    p = np.asarray(origins, np.float64)[..., None, None, :]  # (..., 1, 1, 2)
    d = np.asarray(directions, np.float64)[..., None, :]  # (..., R, 1, 2)
    a, e = walls[:, 0], walls[:, 1] - walls[:, 0]  # (S, 2)
    ap = a - p  # (..., 1, S, 2)
    denominator = d[..., 0] * e[:, 1] - d[..., 1] * e[:, 0]  # cross(d, e): (..., R, S)
    t_numerator = ap[..., 0] * e[:, 1] - ap[..., 1] * e[:, 0]  # cross(a - p, e)
    u_numerator = ap[..., 0] * d[..., 1] - ap[..., 1] * d[..., 0]  # cross(a - p, d)
    crossing = np.abs(denominator) > _PARALLEL
    safe = np.where(crossing, denominator, 1.0)
    t, u = t_numerator / safe, u_numerator / safe
    hit = crossing & (t >= 0.0) & (u >= 0.0) & (u <= 1.0)
    return np.where(hit, t, np.inf).min(axis=-1)


def circle_hits(origins: np.ndarray, directions: np.ndarray, centers: np.ndarray, radii: np.ndarray | float, ignore: np.ndarray | None = None) -> np.ndarray:
    """Distance along each ray to the first circle it enters (inf if none).

    ``origins`` (B, K, 2) and ``directions`` (B, K, R, 2) of K viewers; ``centers`` (B, M, 2) and
    ``radii`` (B, M) or a scalar of M circles per arena; ``ignore`` (K, M) or (B, K, M) bool: circles
    a viewer does not see (its own body). A ray starting inside a circle hits it at distance 0.
    Returns (B, K, R).
    """
    p = np.asarray(origins, np.float64)[:, :, None, None, :]  # (B, K, 1, 1, 2)
    d = np.asarray(directions, np.float64)[:, :, :, None, :]  # (B, K, R, 1, 2)
    c = np.asarray(centers, np.float64)[:, None, None, :, :]  # (B, 1, 1, M, 2)
    r = np.broadcast_to(np.asarray(radii, np.float64), np.asarray(centers).shape[:2])[:, None, None, :]
    offset = p - c  # (B, K, 1, M, 2)
    half_b = (d * offset).sum(-1)  # d . (p - c): (B, K, R, M)
    c_term = (offset * offset).sum(-1) - r * r  # (B, K, 1, M)
    discriminant = half_b * half_b - c_term
    root = np.sqrt(np.maximum(discriminant, 0.0))
    near = -half_b - root
    inside = c_term <= 0.0
    t = np.where(inside, 0.0, near)
    hit = (discriminant >= 0.0) & (inside | (near >= 0.0))
    if ignore is not None:
        hidden = np.asarray(ignore, bool)
        hidden = hidden[None, :, None, :] if hidden.ndim == 2 else hidden[:, :, None, :]
        hit &= ~hidden
    return np.where(hit, t, np.inf).min(axis=-1)


def ray_fractions(distances: np.ndarray, length: float) -> np.ndarray:
    """Hit distances as fractions of the ray's length, 1.0 where nothing is within reach (float32)."""
    return np.minimum(distances / length, 1.0).astype(np.float32)
