"""The ``Face`` record that detection produces and every later step consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

#: mediapipe face-detection keypoint names, in the model's output order.
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear")


@dataclass(frozen=True)
class Face:
    """One detected face, in pixels of the image as stored.

    ``box`` is axis-aligned (x0, y0, x1, y1); ``score`` 0-1; ``keypoints`` maps
    KEYPOINT_NAMES (the subject's right/left) to (x, y) pixels; ``roll`` is degrees,
    counter-clockwise positive on screen, in (-180, 180]; ``size`` is the face's
    (width, height) in pixels in its own upright frame, which the crop is built from.
    ``landmarks`` holds the face-mesh points (Nx2 pixels as nested tuples) when the
    face was verified by the mesh, and ``yaw``/``pitch`` rough head-turn estimates
    in degrees (0 = frontal).
    """

    box: tuple[float, float, float, float]
    score: float
    keypoints: dict[str, tuple[float, float]]
    roll: float
    size: tuple[float, float]
    landmarks: tuple[tuple[float, float], ...] = field(default=(), repr=False)
    yaw: float = 0.0
    pitch: float = 0.0

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0)

    def to_json(self) -> dict:
        """The CLI's JSON form: box, score, roll and keypoints, rounded for readability."""
        return {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 4),
            "roll": round(self.roll, 2),
            "yaw": round(self.yaw, 1),
            "pitch": round(self.pitch, 1),
            "keypoints": {k: [round(x, 1), round(y, 1)] for k, (x, y) in self.keypoints.items()},
        }
