"""Writing a match's frames (from :func:`envs.arena.render.arena_to_rgb`) as an animation.

GIF needs only Pillow, a dependency, so a recording always works; MP4 (much smaller for long
matches) needs ``imageio[ffmpeg]``, which is optional and asked for only when a path ends in .mp4.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

SUFFIXES = (".gif", ".mp4")


def _check_frames(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The frames as a list, after checking they make one animation: uint8 (H, W, 3), one size."""
    frames = list(frames)
    if not frames:
        raise ValueError("write_animation needs at least one frame")
    shape = np.shape(frames[0])
    for i, frame in enumerate(frames):
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame {i} must be a uint8 (H, W, 3) picture, got {frame.dtype} {frame.shape}")
        if frame.shape != shape:
            raise ValueError(f"frame {i} has shape {frame.shape}, the first frame {shape}: all frames must be one size")
    return frames


def _write_gif(frames: list[np.ndarray], path: Path, frame_ms: float) -> None:
    """An endlessly looping GIF. Pillow stores a frame identical to the one before it only once,
    with both frames' time, so a still stretch costs nothing and plays as long as it should."""
    from PIL import Image

    images = [Image.fromarray(np.ascontiguousarray(frame)) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(round(frame_ms)), loop=0)


def _write_mp4(frames: list[np.ndarray], path: Path, fps: float) -> None:
    """An H.264 MP4 through imageio's ffmpeg plugin; frames are padded to even sizes, which the
    usual yuv420p pixel format needs, rather than resized (imageio's default), which blurs them."""
    try:
        import imageio.v2 as imageio
        from imageio_ffmpeg import get_ffmpeg_exe

        get_ffmpeg_exe()  # the ffmpeg binary imageio will run; RuntimeError when there is none
    except (ImportError, RuntimeError):
        raise ImportError("writing MP4 needs imageio[ffmpeg] (pip install 'imageio[ffmpeg]'); GIF works without it") from None
    height, width = frames[0].shape[:2]
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    imageio.mimwrite(path, [np.pad(frame, pad, mode="edge") for frame in frames], fps=fps, macro_block_size=1)


def write_animation(frames: Sequence[np.ndarray], path: str | os.PathLike[str], fps: float = 10.0, every: int = 1) -> Path:
    """Write ``frames`` (uint8 (H, W, 3) pictures, one per step) to ``path`` as an animation.

    The suffix picks the format: ``.gif`` (Pillow, loops forever) or ``.mp4`` (needs
    ``imageio[ffmpeg]``). ``fps``: steps per second of the match as played back. ``every``: keep
    every n-th frame (the first always), each shown n times as long, so the match plays at the
    same speed in a file n times smaller. Returns the path written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"unknown animation format {path.suffix or '(no suffix)'!r} for {path}: valid suffixes are {', '.join(SUFFIXES)}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    if not isinstance(every, (int, np.integer)) or every < 1:
        raise ValueError(f"every must be a whole number of at least 1, got {every!r}")
    kept = _check_frames(frames)[::every]
    if suffix == ".gif":
        _write_gif(kept, path, 1000.0 * every / fps)
    else:
        _write_mp4(kept, path, fps / every)
    return path


__all__ = ("write_animation", "SUFFIXES")
