"""The Arena as a picture and as text: things drawn where the state says, and recordings that read back.

Positions are checked two ways: through :func:`pixel_of` / :func:`text_cell`, and independently, by
where a body's colour lies in the picture relative to its size (or by grid cells counted by hand),
so that a mistake shared by the drawing and the coordinate helpers (x and y swapped, y not
flipped) still fails.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from envs.arena.core import ArenaCore
from envs.arena.recording import write_animation
from envs.arena.render import (
    BULLET_RGB,
    DEAD_RGB,
    FLOOR_RGB,
    HILL_RGB,
    HP_RGB,
    RAY_RGB,
    TEAM_RGB,
    WALL_RGB,
    arena_to_rgb,
    arena_to_text,
    pixel_of,
    text_cell,
)
from envs.arena.rules import GUN_LEFT, GUN_RIGHT


def make_core(num_bodies: int = 2, preset: str = "original") -> ArenaCore:
    return ArenaCore(1, num_bodies, preset)


def place(core: ArenaCore, body: int, xy: tuple[float, float], angle: float = 0.0) -> None:
    core.position[0, body] = xy
    core.angle[0, body] = angle


def colour_at(image: np.ndarray, core: ArenaCore, xy: tuple[float, float]) -> tuple[int, ...]:
    row, column = pixel_of(core, np.array(xy))
    return tuple(int(v) for v in image[row, column])


def mask_of(image: np.ndarray, rgb: np.ndarray | tuple[int, int, int]) -> np.ndarray:
    return (image == np.asarray(rgb, np.uint8)).all(axis=-1)


def test_picture_is_uint8_about_200_by_400() -> None:
    core = make_core()
    image = arena_to_rgb(core)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    height, width = image.shape[:2]
    assert 200 <= width <= 215 and 400 <= height <= 430
    assert arena_to_rgb(core, show_rays=True).shape == image.shape
    assert core.render_rgb(0).shape == image.shape
    big = arena_to_rgb(core, scale=20)
    assert abs(big.shape[1] - 2 * width) <= 8 and abs(big.shape[0] - 2 * height) <= 20


def test_body_colour_is_where_the_body_is_and_follows_it() -> None:
    core = make_core()
    place(core, 0, (-6.0, 14.0), angle=1.0)
    place(core, 1, (5.0, -8.0), angle=-2.0)
    image = arena_to_rgb(core)
    assert colour_at(image, core, (-6.0, 14.0)) == tuple(TEAM_RGB[0])
    assert colour_at(image, core, (5.0, -8.0)) == tuple(TEAM_RGB[1])

    # Independently of pixel_of: body 0's pixels sit in the upper left, at the right fractions of
    # the arena (x from -10 to 10 across, y from 20 at the top to -20 at the bottom).
    strip = int(np.flatnonzero(mask_of(image, WALL_RGB).any(axis=1))[0])  # first row of the top wall
    rows, columns = np.nonzero(mask_of(image, TEAM_RGB[0])[strip:])
    arena_height, arena_width = image.shape[0] - strip, image.shape[1]
    assert columns.mean() / arena_width == pytest.approx((-6.0 + 10.0) / 20.0, abs=0.02)
    assert rows.mean() / arena_height == pytest.approx((20.0 - 14.0) / 40.0, abs=0.02)

    place(core, 0, (3.0, -15.0))
    moved = arena_to_rgb(core)
    assert colour_at(moved, core, (3.0, -15.0)) == tuple(TEAM_RGB[0])
    assert colour_at(moved, core, (-6.0, 14.0)) == FLOOR_RGB
    rows, columns = np.nonzero(mask_of(moved, TEAM_RGB[0])[strip:])
    assert columns.mean() / arena_width == pytest.approx((3.0 + 10.0) / 20.0, abs=0.02)
    assert rows.mean() / arena_height == pytest.approx((20.0 + 15.0) / 40.0, abs=0.02)


def test_heading_mark_points_to_the_front() -> None:
    """The white mark lies on the side of the body its heading points to."""
    core = make_core()
    for angle, side in ((0.0, (1, 0)), (np.pi / 2, (0, -1)), (np.pi, (-1, 0)), (-np.pi / 2, (0, 1))):
        place(core, 0, (0.0, 12.0), angle=angle)
        image = arena_to_rgb(core)
        row, column = pixel_of(core, np.array([0.0, 12.0]))
        around = mask_of(image, (255, 255, 255))[row - 6 : row + 7, column - 6 : column + 7]
        mark_rows, mark_columns = np.nonzero(around)
        assert np.sign(round(mark_columns.mean() - 6)) == side[0]
        assert np.sign(round(mark_rows.mean() - 6)) == side[1]


def test_hill_walls_and_floor() -> None:
    core = make_core()
    image = arena_to_rgb(core)
    assert colour_at(image, core, (0.0, 0.0)) == HILL_RGB
    assert colour_at(image, core, (0.0, 2.5)) == HILL_RGB
    assert colour_at(image, core, (0.0, 3.5)) == FLOOR_RGB
    for xy in ((-10.0, 0.0), (10.0, 5.0), (0.0, 20.0), (3.0, -20.0), (-10.0, -20.0), (10.0, 20.0)):
        assert colour_at(image, core, xy) == WALL_RGB, xy
    assert colour_at(image, core, (9.0, 0.0)) == FLOOR_RGB
    # The picture's edge columns are wall (or margin), never floor: the box is closed all round.
    assert not mask_of(image[:, :2], FLOOR_RGB).any() and not mask_of(image[-2:], FLOOR_RGB).any()


def test_inner_walls_only_in_the_walls_preset() -> None:
    plain = arena_to_rgb(make_core(preset="original"))
    walled_core = make_core(preset="walls")
    walled = arena_to_rgb(walled_core)
    for xy in ((3.0, 10.0), (-3.0, -10.0), (-4.5, 10.0)):
        assert colour_at(walled, walled_core, xy) == WALL_RGB
        assert colour_at(plain, walled_core, xy) == FLOOR_RGB
    assert colour_at(walled, walled_core, (7.0, 10.0)) == FLOOR_RGB  # the gap beside the wall


def test_bullets_appear_after_firing() -> None:
    core = make_core()
    assert not mask_of(arena_to_rgb(core), BULLET_RGB[0]).any()
    actions = np.zeros((1, 2, 4), np.int8)
    actions[0, 0, [GUN_RIGHT, GUN_LEFT]] = 1
    core.step(actions)
    bullets = core.bullets_in_flight(0)
    assert len(bullets) == 2
    image = arena_to_rgb(core)
    for xy in bullets:
        assert colour_at(image, core, tuple(xy)) == tuple(BULLET_RGB[0])
    assert not mask_of(image, BULLET_RGB[1]).any()


def test_dead_body_is_faded_without_hp_bar() -> None:
    core = make_core()
    place(core, 1, (4.0, 8.0))
    alive_image = arena_to_rgb(core)
    core.alive[0, 1] = False
    core.hp[0, 1] = -1
    image = arena_to_rgb(core)
    assert colour_at(image, core, (4.0, 8.0)) == tuple(DEAD_RGB[1])
    assert not mask_of(image, TEAM_RGB[1]).any()  # not in the arena, nor as a living swatch
    assert mask_of(image, HP_RGB).sum() * 2 == mask_of(alive_image, HP_RGB).sum()


def test_rays_drawn_only_when_asked() -> None:
    core = make_core()  # body 0 at (0, -10) facing +y: its first ray (offset -90 deg) runs along +x
    assert not mask_of(arena_to_rgb(core), RAY_RGB[0]).any()
    image = arena_to_rgb(core, show_rays=True)
    assert colour_at(image, core, (5.0, -10.0)) == tuple(RAY_RGB[0])
    assert colour_at(image, core, (-5.0, 10.0)) == tuple(RAY_RGB[1])


def test_frames_do_not_leak_into_each_other() -> None:
    """The still background is cached: drawing a frame must not change the next one."""
    core = make_core(4, "walls")
    first = arena_to_rgb(core, show_rays=True)
    place(core, 0, (2.0, 2.0))
    arena_to_rgb(core, show_rays=True)
    core.reset()
    np.testing.assert_array_equal(arena_to_rgb(core, show_rays=True), first)


def test_bad_arena_index() -> None:
    with pytest.raises(ValueError, match="arena must be from 0 to 0"):
        arena_to_rgb(make_core(), arena=1)
    with pytest.raises(ValueError, match="arena must be from 0 to 0"):
        arena_to_text(make_core(), arena=-1)


# --- text ----------------------------------------------------------------------------------------------
def test_text_grid_cells_counted_by_hand() -> None:
    core = make_core(3)
    place(core, 0, (-4.5, 12.2), angle=0.0)  # column 1 + floor(-4.5 + 10) = 6, line 1 + floor(20 - 12.2) = 8
    place(core, 1, (7.3, -18.6), angle=np.pi / 2)  # column 18, line 39
    place(core, 2, (0.2, -5.5), angle=np.pi)  # column 11, line 26
    lines = arena_to_text(core).split("\n")
    grid = lines[:42]
    assert all(len(line) == 22 for line in grid)
    assert grid[0] == "#" * 22 and grid[41] == "#" * 22
    assert all(line[0] == "#" and line[-1] == "#" for line in grid)
    assert grid[8][6] == "0" and grid[8][7] == ">"
    assert grid[39][18] == "1" and grid[38][18] == "^"
    assert grid[26][11] == "2" and grid[26][10] == "<"
    assert grid[21][11] == "."  # the hill round the origin
    assert text_cell(core, np.array([-4.5, 12.2])) == (8, 6)
    assert core.render_ansi(0) == "\n".join(lines)


def test_text_status_lines() -> None:
    core = make_core()
    place(core, 0, (-4.5, 12.25), angle=np.pi / 2)
    core.score[0] = [3.0, -1.5]
    core.alive[0, 1] = False
    lines = arena_to_text(core).split("\n")
    assert lines[42].startswith("step 0/600")
    assert lines[43] == "0 team 0  hp  10  score     3.00  at ( -4.50,  12.25)  heading  90 deg  alive"
    assert lines[44].startswith("1 team 1  hp  10  score    -1.50  at (  0.00,  10.00)  heading 270 deg")
    assert lines[44].endswith("dead")
    assert lines[11][11] == "x"  # the dead body, at (0, 10): line 1 + floor(20 - 10)


def test_text_walls_and_bullets() -> None:
    plain, walled = make_core(preset="original"), make_core(preset="walls")
    plain_grid, walled_grid = arena_to_text(plain).split("\n"), arena_to_text(walled).split("\n")
    wall_line = 1 + 30  # y = -10 lies in the cell from -11 to -10
    assert walled_grid[wall_line][6:17] == "#" * 11 and walled_grid[11][6:17] == "#" * 11
    assert "#" not in plain_grid[11][1:-1]
    actions = np.zeros((1, 2, 4), np.int8)
    actions[0, 1, GUN_RIGHT] = 1
    plain.step(actions)
    (xy,) = plain.bullets_in_flight(0)
    line, column = text_cell(plain, xy)
    assert arena_to_text(plain).split("\n")[line][column] == "*"


# --- recordings ----------------------------------------------------------------------------------------
def match_frames(steps: int) -> list[np.ndarray]:
    core = make_core()
    actions = np.ones((1, 2, 4), np.int8)
    frames = []
    for _ in range(steps):
        core.step(actions)
        frames.append(arena_to_rgb(core))
    return frames


def test_gif_reads_back(tmp_path) -> None:
    frames = match_frames(7)
    path = write_animation(frames, tmp_path / "match.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.n_frames == 7
        assert gif.info["loop"] == 0 and gif.info["duration"] == 100
        np.testing.assert_array_equal(np.asarray(gif.convert("RGB")), frames[0])
        gif.seek(6)
        np.testing.assert_array_equal(np.asarray(gif.convert("RGB")), frames[6])
    with Image.open(write_animation(frames, tmp_path / "skipped.GIF", fps=10, every=3)) as gif:
        assert gif.n_frames == 3  # frames 0, 3, 6
        assert gif.info["duration"] == 300
        gif.seek(2)
        np.testing.assert_array_equal(np.asarray(gif.convert("RGB")), frames[6])


def test_animation_errors(tmp_path, monkeypatch) -> None:
    frames = match_frames(2)
    with pytest.raises(ValueError, match=r"valid suffixes are \.gif, \.mp4"):
        write_animation(frames, tmp_path / "match.avi")
    with pytest.raises(ValueError, match="no suffix"):
        write_animation(frames, tmp_path / "match")
    with pytest.raises(ValueError, match="at least one frame"):
        write_animation([], tmp_path / "match.gif")
    with pytest.raises(ValueError, match="all frames must be one size"):
        write_animation([frames[0], frames[1][:-1]], tmp_path / "match.gif")
    with pytest.raises(ValueError, match="uint8"):
        write_animation([frames[0].astype(np.float32)], tmp_path / "match.gif")
    with pytest.raises(ValueError, match="every"):
        write_animation(frames, tmp_path / "match.gif", every=0)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if imageio[ffmpeg] were not installed
    with pytest.raises(ImportError, match=r"MP4 needs imageio\[ffmpeg\].*GIF works without it"):
        write_animation(frames, tmp_path / "match.mp4")
    assert not (tmp_path / "match.mp4").exists()
