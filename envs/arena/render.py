"""Pictures of one arena for people: a top-down RGB image drawn with numpy, and a text grid.

Both read :class:`envs.arena.core.ArenaCore`'s arrays directly (positions, headings, hp, bullets,
walls: :class:`ArenaState` lists them), so they show exactly the state the learners see.

The picture has y up, as the rules' coordinates: the +y wall is at the top. The floor, the hill and
the walls depend only on the walls and the scale, so they are drawn once and cached; a frame copies
them and stamps the moving parts (rays, bullets, bodies, hp bars, the status strip) with a few
vectorised lookups, so that drawing a 600-step match takes about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from envs.arena.rules import BODY_RADIUS, EPISODE_STEPS, HILL_RADIUS, RAY_LENGTH, START_HP
from envs.arena.state import ArenaState

FLOOR_RGB = (238, 236, 228)
STRIP_RGB = (250, 250, 250)
TEXT_RGB = (30, 30, 30)
HILL_RGB = (250, 224, 150)
HILL_RIM_RGB = (214, 172, 64)
WALL_RGB = (64, 64, 76)
OUTLINE_RGB = (40, 40, 40)
HEADING_RGB = (255, 255, 255)
HP_RGB = (40, 190, 70)
HP_LOST_RGB = (110, 110, 110)
# Eight teams' colours (Tableau's, less olive and grey, which the hill and walls would hide).
TEAM_RGB = np.array(
    [(214, 39, 40), (31, 119, 180), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75), (227, 119, 194), (23, 190, 207)],
    np.uint8,
)


def _blend(rgb: np.ndarray | tuple[int, int, int], toward: tuple[int, int, int], amount: float) -> np.ndarray:
    """``rgb`` moved ``amount`` of the way to ``toward``: faded bodies, pale rays."""
    mixed = (1.0 - amount) * np.asarray(rgb, np.float64) + amount * np.asarray(toward, np.float64)
    return np.rint(mixed).astype(np.uint8)


DEAD_RGB = _blend(TEAM_RGB, FLOOR_RGB, 0.65)  # a dead body: its team colour, faded into the floor
DEAD_SWATCH_RGB = _blend(TEAM_RGB, STRIP_RGB, 0.65)  # the same in the status strip
RAY_RGB = _blend(TEAM_RGB, FLOOR_RGB, 0.6)  # a body's rays: its team colour, paler
BULLET_RGB = _blend(TEAM_RGB, (0, 0, 0), 0.5)  # a bullet: its shooter's team colour, darker

WALL_HALF_WIDTH = 0.15  # units
BULLET_DRAW_RADIUS = 0.18  # units: larger than a bullet (0.1) so that it shows at 10 px per unit
DEFAULT_SCALE = 10  # pixels per unit: 200 x 400 pixels for the 20 x 40 arena, plus the strip

# A 3 x 5 pixel font for the status strip: just what step numbers and scores need.
_GLYPH_ROWS = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", "..#", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    "-": ("...", "...", "###", "...", "..."),
    ".": ("...", "...", "...", "...", ".#."),
    " ": ("...", "...", "...", "...", "..."),
}
_GLYPHS = {char: np.array([[c == "#" for c in row] for row in rows]) for char, rows in _GLYPH_ROWS.items()}

# Text view: one character per unit of the arena.
TEXT_WALL, TEXT_HILL, TEXT_FLOOR, TEXT_BULLET, TEXT_DEAD = "#", ".", " ", "*", "x"
# Heading arrows by octant (0 = +x, counter-clockwise) and the neighbour cell (column, row) they go in.
_ARROWS = ">/^\\</v\\"
_OCTANT_STEPS = ((1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1))


# --- the picture's geometry ------------------------------------------------------------------------
def _extent(walls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest (x, y) of any wall: the outer box, which both views frame."""
    points = walls.reshape(-1, 2)
    return points.min(axis=0), points.max(axis=0)


@dataclass(frozen=True)
class Layout:
    """Where the world lies in the picture: ``scale`` pixels per unit, a ``margin`` round the walls
    (so the outer walls' thickness fits), and a status strip ``strip`` pixels high on top."""

    scale: float
    x_min: float
    y_max: float
    margin: int
    strip: int
    width: int
    height: int

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """World points (..., 2) as continuous pixel coordinates (..., 2) ``(column, row)``; pixel
        ``(c, r)`` covers ``[c, c + 1) x [r, r + 1)``. Rows grow downwards, so y is flipped."""
        xy = np.asarray(xy, np.float64)
        column = self.margin + (xy[..., 0] - self.x_min) * self.scale
        row = self.strip + self.margin + (self.y_max - xy[..., 1]) * self.scale
        return np.stack([column, row], axis=-1)


def font_size(scale: float) -> int:
    """Pixels per font dot: the strip's text grows with the picture."""
    return max(1, int(round(scale / DEFAULT_SCALE)))


def layout_for(walls: np.ndarray, scale: float = DEFAULT_SCALE) -> Layout:
    """The :class:`Layout` of an arena with these wall segments (S, 2, 2) at ``scale``."""
    if not scale > 0:
        raise ValueError(f"scale must be positive (pixels per unit), got {scale!r}")
    low, high = _extent(walls)
    margin = int(np.ceil(WALL_HALF_WIDTH * scale)) + 1
    strip = 9 * font_size(scale)
    width = int(np.ceil((high[0] - low[0]) * scale)) + 2 * margin
    height = strip + int(np.ceil((high[1] - low[1]) * scale)) + 2 * margin
    return Layout(float(scale), float(low[0]), float(high[1]), margin, strip, width, height)


def pixel_of(core: ArenaState, xy: np.ndarray, scale: float = DEFAULT_SCALE) -> np.ndarray:
    """Integer ``(row, column)`` (..., 2) of the pixel that shows world point(s) ``xy`` in
    :func:`arena_to_rgb`'s picture at ``scale``: for tests and for drawing over the picture."""
    pixels = np.floor(layout_for(core.walls, scale).to_pixels(xy)).astype(np.int64)
    return pixels[..., ::-1]


# --- drawing primitives ------------------------------------------------------------------------------
def _stamp_discs(image: np.ndarray, centres: np.ndarray, radius: float, colours: np.ndarray | tuple[int, int, int]) -> None:
    """Fill a disc of ``radius`` pixels round each of ``centres`` (m, 2) ``(column, row)``: the
    pixels whose centres lie inside, clipped to the picture. ``colours``: one, or (m, 3).

    Every disc of the batch is tested against the same small stencil of pixel offsets at once, so
    the cost is that of the pixels drawn, not of a Python loop."""
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    if centres.shape[0] == 0:
        return
    colours = np.broadcast_to(np.asarray(colours, np.uint8), (centres.shape[0], 3))
    if radius <= 0.5:  # thin lines and dots: the pixel each centre is in, without a stencil
        _stamp_pixels(image, centres, colours)
        return
    reach = int(np.ceil(radius))
    offsets = np.arange(-reach, reach + 1)
    columns = np.floor(centres[:, 0])[:, None, None].astype(np.int64) + offsets[None, None, :]
    rows = np.floor(centres[:, 1])[:, None, None].astype(np.int64) + offsets[None, :, None]
    dx = columns + 0.5 - centres[:, 0, None, None]
    dy = rows + 0.5 - centres[:, 1, None, None]
    inside = (dx * dx + dy * dy <= radius * radius) | ((np.abs(dx) <= 0.5) & (np.abs(dy) <= 0.5))  # the centre's own pixel
    inside &= (columns >= 0) & (columns < image.shape[1]) & (rows >= 0) & (rows < image.shape[0])
    which = np.broadcast_to(np.arange(centres.shape[0])[:, None, None], inside.shape)
    image[np.broadcast_to(rows, inside.shape)[inside], np.broadcast_to(columns, inside.shape)[inside]] = colours[which[inside]]


def _stamp_pixels(image: np.ndarray, points: np.ndarray, colours: np.ndarray) -> None:
    """Colour the pixel each of ``points`` (m, 2) ``(column, row)`` falls in, if in the picture."""
    columns, rows = np.floor(points[:, 0]).astype(np.int64), np.floor(points[:, 1]).astype(np.int64)
    keep = (columns >= 0) & (columns < image.shape[1]) & (rows >= 0) & (rows < image.shape[0])
    image[rows[keep], columns[keep]] = colours[keep]


def _stamp_segments(image: np.ndarray, starts: np.ndarray, ends: np.ndarray, radius: float, colours: np.ndarray | tuple[int, int, int]) -> None:
    """Draw segments (m, 2) -> (m, 2) in pixel coordinates, ``radius`` pixels thick each side, as
    discs stamped every half pixel along them (the same count for all, from the longest)."""
    starts, ends = np.asarray(starts, np.float64).reshape(-1, 2), np.asarray(ends, np.float64).reshape(-1, 2)
    if starts.shape[0] == 0:
        return
    longest = float(np.linalg.norm(ends - starts, axis=1).max())
    t = np.linspace(0.0, 1.0, int(np.ceil(2 * longest)) + 2)
    points = starts[:, None, :] + t[None, :, None] * (ends - starts)[:, None, :]
    colours = np.broadcast_to(np.asarray(colours, np.uint8), (starts.shape[0], 3))
    _stamp_discs(image, points.reshape(-1, 2), radius, np.repeat(colours, t.size, axis=0))


def _fill_rect(image: np.ndarray, top: int, left: int, height: int, width: int, colour: np.ndarray | tuple[int, int, int]) -> None:
    """Fill a rectangle of pixels, clipped to the picture."""
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + height, image.shape[0]), min(left + width, image.shape[1])
    if r0 < r1 and c0 < c1:
        image[r0:r1, c0:c1] = colour


def _draw_text(image: np.ndarray, text: str, top: int, left: int, dot: int, colour: tuple[int, int, int]) -> int:
    """Write ``text`` (digits, ``-``, ``.`` and spaces) in the 3 x 5 font, ``dot`` pixels a font
    dot, clipped to the picture; returns the column just after it."""
    for char in text:
        glyph = np.kron(_GLYPHS.get(char, _GLYPHS[" "]), np.ones((dot, dot), bool))
        rows, columns = np.nonzero(glyph)
        rows, columns = rows + top, columns + left
        keep = (rows < image.shape[0]) & (columns < image.shape[1])
        image[rows[keep], columns[keep]] = colour
        left += 4 * dot
    return left


def _segment_distance(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distance from each of ``points`` (..., 2) to the segment ``start``-``end``."""
    direction = end - start
    t = np.clip(((points - start) @ direction) / max(float(direction @ direction), 1e-12), 0.0, 1.0)
    return np.linalg.norm(points - start - t[..., None] * direction, axis=-1)


# --- the picture -------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _background(walls_bytes: bytes, num_walls: int, scale: float) -> np.ndarray:
    """The still part of the picture (strip, floor, hill, walls), read-only; cached because a
    recording draws hundreds of frames of the same arena."""
    walls = np.frombuffer(walls_bytes, np.float64).reshape(num_walls, 2, 2)
    layout = layout_for(walls, scale)
    image = np.empty((layout.height, layout.width, 3), np.uint8)
    image[:] = FLOOR_RGB
    image[: layout.strip] = STRIP_RGB
    # Each pixel's centre in world units, to test against the hill and the walls.
    columns = (np.arange(layout.width) + 0.5 - layout.margin) / scale + layout.x_min
    rows = layout.y_max - (np.arange(layout.height) + 0.5 - layout.strip - layout.margin) / scale
    world = np.stack(np.meshgrid(columns, rows), axis=-1)
    world[: layout.strip] = np.nan  # nothing of the arena is drawn over the strip
    low, high = _extent(walls)
    image[~((world >= low) & (world <= high)).all(axis=-1)] = STRIP_RGB  # outside the outer walls
    from_centre = np.linalg.norm(world, axis=-1)
    image[from_centre <= HILL_RADIUS] = HILL_RGB
    image[np.abs(from_centre - HILL_RADIUS) <= 0.5 / scale] = HILL_RIM_RGB
    for start, end in walls:
        image[_segment_distance(world, start, end) <= max(WALL_HALF_WIDTH, 0.5 / scale)] = WALL_RGB
    image.setflags(write=False)
    return image


def _draw_rays(image: np.ndarray, core: ArenaState, arena: int, layout: Layout) -> None:
    """Every living body's rays, pale in its team's colour, as far as each ray reaches."""
    fractions, _ = core.rays(np.array([arena]))
    alive = core.alive[arena]
    directions = core.angle[arena][:, None] + core.ray_offsets[None, :]  # (K, R)
    reach = RAY_LENGTH * fractions[0][..., None] * np.stack([np.cos(directions), np.sin(directions)], axis=-1)
    starts = np.broadcast_to(core.position[arena][:, None, :], reach.shape)
    colours = np.broadcast_to(RAY_RGB[core.team][:, None, :], reach.shape[:2] + (3,))
    _stamp_segments(image, layout.to_pixels(starts[alive]), layout.to_pixels((starts + reach)[alive]), 0.5, colours[alive].reshape(-1, 3))


def _draw_bullets(image: np.ndarray, core: ArenaState, arena: int, layout: Layout) -> None:
    """Bullets in flight, each a dot in its shooter's team colour, darkened."""
    flying = core.bullet_age[arena] >= 0  # (K, G)
    shooters = np.broadcast_to(np.arange(core.num_seats)[:, None], flying.shape)[flying]
    colours = BULLET_RGB[core.team[shooters]]
    centres = layout.to_pixels(core.bullet_position[arena][flying])
    _stamp_discs(image, centres, BULLET_DRAW_RADIUS * layout.scale, colours)


def _draw_bodies(image: np.ndarray, core: ArenaState, arena: int, layout: Layout) -> None:
    """Dead bodies faded and flat; then the living ones in their team colours with an outline, a
    white heading line on the front half, and an hp bar above."""
    alive = core.alive[arena]
    centres = layout.to_pixels(core.position[arena])
    radius = BODY_RADIUS * layout.scale
    dead = ~alive
    _stamp_discs(image, centres[dead], radius, DEAD_RGB[core.team[dead]])
    _stamp_discs(image, centres[alive], radius, OUTLINE_RGB)
    _stamp_discs(image, centres[alive], radius - max(1.0, 0.08 * layout.scale), TEAM_RGB[core.team[alive]])
    # The heading mark keeps off the centre, so that the centre pixel shows the team's colour.
    heading = np.stack([np.cos(core.angle[arena]), np.sin(core.angle[arena])], axis=-1)
    tails = layout.to_pixels(core.position[arena] + 0.35 * BODY_RADIUS * heading)
    noses = layout.to_pixels(core.position[arena] + 0.85 * BODY_RADIUS * heading)
    _stamp_segments(image, tails[alive], noses[alive], max(0.6, 0.08 * layout.scale), HEADING_RGB)
    for body in np.flatnonzero(alive):
        _draw_hp_bar(image, centres[body], int(core.hp[arena, body]), radius)


def _draw_hp_bar(image: np.ndarray, centre: np.ndarray, hp: int, radius: float) -> None:
    """A bar as wide as the body, just above it: green for the hp left, grey for the hp lost."""
    height = max(2, int(round(radius / 2.5)))
    width = max(4, int(round(2 * radius)))
    top = int(np.floor(centre[1] - radius)) - 1 - height
    left = int(np.floor(centre[0] - width / 2))
    _fill_rect(image, top, left, height, width, HP_LOST_RGB)
    _fill_rect(image, top, left, height, int(round(width * min(max(hp / START_HP, 0.0), 1.0))), HP_RGB)


def _draw_status(image: np.ndarray, core: ArenaState, arena: int, layout: Layout) -> None:
    """The strip on top: the step, then per body a swatch of its colour (faded once dead) and its
    score rounded to a whole number."""
    dot = font_size(layout.scale)
    top = 2 * dot
    left = _draw_text(image, str(int(core.steps[arena])), top, 2 * dot, dot, TEXT_RGB) + 3 * dot
    for body in range(core.num_seats):
        colour = (TEAM_RGB if core.alive[arena, body] else DEAD_SWATCH_RGB)[core.team[body]]
        _fill_rect(image, top, left, 5 * dot, 4 * dot, colour)
        left = _draw_text(image, f"{core.score[arena, body]:.0f}", top, left + 5 * dot, dot, TEXT_RGB) + 2 * dot


def arena_to_rgb(core: ArenaState, arena: int = 0, scale: float = DEFAULT_SCALE, show_rays: bool = False) -> np.ndarray:
    """Arena ``arena`` of ``core`` seen from above, as a uint8 (H, W, 3) picture with y up.

    ``scale`` pixels per unit (10: about 206 x 415 pixels for the 20 x 40 arena with its status
    strip). Shown: the walls, the hill (shaded disc, radius 3), bodies as discs in their team's
    colour (:data:`TEAM_RGB`) with a heading line and an hp bar (dead ones faded, without them),
    bullets as dark dots in their shooter's colour, each living body's rays when ``show_rays``,
    and a strip on top with the step and each body's score."""
    if not 0 <= arena < core.batch_size:
        raise ValueError(f"arena must be from 0 to {core.batch_size - 1}, got {arena}")
    walls = np.ascontiguousarray(core.walls, np.float64)
    image = _background(walls.tobytes(), walls.shape[0], float(scale)).copy()
    layout = layout_for(walls, scale)
    if show_rays:
        _draw_rays(image, core, arena, layout)
    _draw_bullets(image, core, arena, layout)
    _draw_bodies(image, core, arena, layout)
    _draw_status(image, core, arena, layout)
    return image


# --- the text view -----------------------------------------------------------------------------------
def _text_shape(walls: np.ndarray) -> tuple[int, int]:
    """Lines and columns of the arena inside the text frame: one character per unit."""
    low, high = _extent(walls)
    return int(np.ceil(high[1] - low[1])), int(np.ceil(high[0] - low[0]))


def _text_cells(walls: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines and columns (...) of the characters showing world points ``xy`` (..., 2)."""
    low, high = _extent(walls)
    lines, columns = _text_shape(walls)
    xy = np.asarray(xy, np.float64)
    column = 1 + np.clip(np.floor(xy[..., 0] - low[0]), 0, columns - 1).astype(np.int64)
    line = 1 + np.clip(np.floor(high[1] - xy[..., 1]), 0, lines - 1).astype(np.int64)
    return line, column


def text_cell(core: ArenaState, xy: np.ndarray) -> tuple[int, int]:
    """``(line, column)`` of the character that shows world point ``xy`` in :func:`arena_to_text`'s
    grid: one character per unit inside a frame of outer wall, the +y wall on the first line."""
    line, column = _text_cells(core.walls, xy)
    return int(line), int(column)


@lru_cache(maxsize=8)
def _text_background(walls_bytes: bytes, num_walls: int) -> np.ndarray:
    """The still part of the grid (frame, hill, inner walls) as a read-only array of characters."""
    walls = np.frombuffer(walls_bytes, np.float64).reshape(num_walls, 2, 2)
    lines, columns = _text_shape(walls)
    grid = np.full((lines + 2, columns + 2), TEXT_WALL)
    low, high = _extent(walls)
    x = low[0] + np.arange(columns) + 0.5
    y = high[1] - np.arange(lines) - 0.5
    grid[1:-1, 1:-1] = np.where(np.hypot(x[None, :], y[:, None]) <= HILL_RADIUS, TEXT_HILL, TEXT_FLOOR)
    for start, end in walls[4:]:  # the first four are the outer box: the frame
        t = np.linspace(0.0, 1.0, int(np.ceil(2 * np.linalg.norm(end - start))) + 2)
        grid[_text_cells(walls, start + t[:, None] * (end - start))] = TEXT_WALL
    grid.setflags(write=False)
    return grid


def _text_grid(core: ArenaState, arena: int) -> np.ndarray:
    """The character grid: the still part, bullets, heading arrows, then the bodies on top."""
    walls = np.ascontiguousarray(core.walls, np.float64)
    grid = _text_background(walls.tobytes(), walls.shape[0]).copy()
    grid[_text_cells(walls, core.bullets_in_flight(arena))] = TEXT_BULLET
    alive = core.alive[arena]
    lines, columns = _text_cells(walls, core.position[arena])
    octants = np.round(core.angle[arena] / (np.pi / 4)).astype(np.int64) % 8
    steps = np.array(_OCTANT_STEPS)[octants]
    arrow_lines, arrow_columns = lines + steps[:, 1], columns + steps[:, 0]
    inside = (arrow_lines > 0) & (arrow_lines < grid.shape[0] - 1) & (arrow_columns > 0) & (arrow_columns < grid.shape[1] - 1)
    for body in np.flatnonzero(alive & inside):
        if grid[arrow_lines[body], arrow_columns[body]] != TEXT_WALL:
            grid[arrow_lines[body], arrow_columns[body]] = _ARROWS[octants[body]]
    grid[lines[~alive], columns[~alive]] = TEXT_DEAD
    for body in np.flatnonzero(alive):  # the living drawn last, on top
        grid[lines[body], columns[body]] = str(body)
    return grid


def _status_lines(core: ArenaState, arena: int) -> list[str]:
    """One line for the arena, then one per body: team, hp, score, position, heading, alive."""
    over = "  over" if core.over[arena] else ""
    lines = [f"step {int(core.steps[arena])}/{EPISODE_STEPS}  preset {core.rules.name}{over}"]
    for body in range(core.num_seats):
        x, y = core.position[arena, body]
        heading = int(round(float(np.degrees(core.angle[arena, body])))) % 360
        state = "alive" if core.alive[arena, body] else "dead"
        lines.append(
            f"{body} team {core.team[body]}  hp {int(core.hp[arena, body]):3d}  score {core.score[arena, body]:8.2f}"
            f"  at ({x:6.2f}, {y:6.2f})  heading {heading:3d} deg  {state}"
        )
    return lines


def arena_to_text(core: ArenaState, arena: int = 0) -> str:
    """Arena ``arena`` as plain text: a grid of one character per unit, y up (``#`` walls, ``.``
    the hill, ``*`` bullets, a living body as its index with an arrow in the next cell towards its
    heading, a dead one as ``x``), then a status line for the arena and one per body."""
    if not 0 <= arena < core.batch_size:
        raise ValueError(f"arena must be from 0 to {core.batch_size - 1}, got {arena}")
    grid = ["".join(row) for row in _text_grid(core, arena).tolist()]
    return "\n".join(grid + _status_lines(core, arena))


__all__ = ("arena_to_rgb", "arena_to_text", "pixel_of", "text_cell", "layout_for", "Layout", "TEAM_RGB", "BULLET_RGB", "DEAD_RGB", "RAY_RGB")
