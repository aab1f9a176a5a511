"""One frame of a film as a JPEG, for films that come without a poster (the demo films)."""

from __future__ import annotations

import io
from pathlib import Path

import av

AT = 0.3  # of the running time: past any opening black, inside the film


def poster_frame(video: Path) -> bytes | None:
    """A JPEG of the first video frame at AT of the film, or None when there is none. Blocking."""
    try:
        with av.open(str(video)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            if container.duration:
                container.seek(int(container.duration * AT), any_frame=False)  # in AV_TIME_BASE units
            for frame in container.decode(stream):
                out = io.BytesIO()
                frame.to_image().save(out, "JPEG", quality=90)
                return out.getvalue()
    except (av.FFmpegError, OSError):
        return None
    return None
