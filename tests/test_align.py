"""Geometry of the upright crop: exact inverses, canvas sizes, thresholds, roll conventions."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lib_facepop.align import (
    apply_affine,
    invert_similarity,
    make_alignment,
    normalize_roll,
    roll_from_eyes,
    warp_to_canvas,
)

coords = st.floats(min_value=-2000, max_value=6000, allow_nan=False)
sizes = st.floats(min_value=1.0, max_value=3000.0, allow_nan=False)
rolls = st.floats(min_value=-720, max_value=720, allow_nan=False)
dims = st.integers(min_value=8, max_value=2048).map(lambda v: v - v % 8 or 8)


@settings(max_examples=300, deadline=None)
@given(cx=coords, cy=coords, fw=sizes, fh=sizes, roll=rolls, w=dims, h=dims,
       pad=st.floats(0, 200), keep=st.booleans(), thr=st.floats(0, 45))
def test_inverse_is_exact(cx, cy, fw, fh, roll, w, h, pad, keep, thr):
    al = make_alignment((cx, cy), (fw, fh), roll, width=w, height=h, padding=pad, keep_aspect=keep,
                        rotation_threshold=thr)
    m3 = np.vstack([al.matrix, [0, 0, 1]])
    i3 = np.vstack([al.inverse, [0, 0, 1]])
    np.testing.assert_allclose(m3 @ i3, np.eye(3), atol=1e-9)
    np.testing.assert_allclose(i3 @ m3, np.eye(3), atol=1e-9)
    pts = np.array([[cx, cy], [cx + fw, cy - fh], [0.0, 0.0]])
    np.testing.assert_allclose(al.to_image(al.to_canvas(pts)), pts, atol=1e-6 * max(1.0, abs(cx), abs(cy), fw, fh))
    # the face centre lands on the canvas centre
    np.testing.assert_allclose(al.to_canvas(np.array([[cx, cy]]))[0],
                               [(al.canvas_size[0] - 1) / 2, (al.canvas_size[1] - 1) / 2], atol=1e-6)
    # canvas sides are /8 and within the working size
    cw, ch = al.canvas_size
    assert cw % 8 == 0 and ch % 8 == 0
    assert cw <= w and ch <= h
    if not keep:
        assert (cw, ch) == (w, h)
    # a similarity: uniform scale, so faces are never stretched
    a = al.matrix[:, :2]
    np.testing.assert_allclose(a @ a.T, np.eye(2) * al.scale**2, rtol=1e-9, atol=1e-12 * al.scale**2)
    # the padded face fits inside the canvas footprint
    assert al.crop_size[0] >= fw * (1 + 2 * pad / 100) * (1 - 1e-9)
    assert al.crop_size[1] >= fh * (1 + 2 * pad / 100) * (1 - 1e-9)


@given(st.floats(-1e4, 1e4, allow_nan=False))
def test_normalize_roll_range(deg):
    r = normalize_roll(deg)
    assert -180 < r <= 180
    assert math.isclose(math.cos(math.radians(r)), math.cos(math.radians(deg)), abs_tol=1e-6)


def test_roll_convention_counter_clockwise_on_screen():
    # upright: right eye (image-left) to left eye (image-right) is horizontal
    assert roll_from_eyes((10, 50), (30, 50)) == 0
    # turned 90 degrees counter-clockwise on screen: the eye line points up (y decreases)
    assert math.isclose(roll_from_eyes((50, 30), (50, 10)), 90)
    # upside down
    assert math.isclose(roll_from_eyes((30, 50), (10, 50)), 180)
    assert math.isclose(roll_from_eyes((10, 50), (30, 60)), -math.degrees(math.atan2(10, 20)))


def test_rotation_threshold_and_auto_align():
    assert make_alignment((50, 50), (20, 20), 8.0, rotation_threshold=10).roll == 0
    assert make_alignment((50, 50), (20, 20), -12.0, rotation_threshold=10).roll == -12.0
    assert make_alignment((50, 50), (20, 20), 170.0, rotation_threshold=10, auto_align=False).roll == 0


def test_keep_aspect_follows_crop_shape():
    al = make_alignment((100, 100), (40, 80), 0, width=720, height=720, padding=0)
    assert al.canvas_size == (360, 720)
    al = make_alignment((100, 100), (40, 80), 0, width=720, height=720, padding=0, keep_aspect=False)
    assert al.canvas_size == (720, 720)
    assert al.crop_size[1] >= 80 and al.crop_size[0] >= 80  # widened, not stretched


def test_warp_turns_face_upright():
    """A bright dot above the face centre of a face rolled 90 CCW lands above the canvas centre."""
    img = np.zeros((200, 200, 3), np.uint8)
    # face at (100, 100) rolled 90 deg CCW: its "up" direction points to the image left
    img[98:103, 58:63] = 255
    al = make_alignment((100, 100), (120, 120), 90.0, width=128, height=128, padding=0, rotation_threshold=0)
    canvas = warp_to_canvas(img, al)
    ys, xs = np.nonzero(canvas[..., 0] > 128)
    assert abs(xs.mean() - 63.5) < 2 and ys.mean() < 40


def test_invert_similarity_matches_numpy():
    rng = np.random.default_rng(0)
    for _ in range(50):
        s, r = rng.uniform(0.01, 50), rng.uniform(-np.pi, np.pi)
        m = np.array([[s * np.cos(r), -s * np.sin(r), rng.uniform(-1e3, 1e3)],
                      [s * np.sin(r), s * np.cos(r), rng.uniform(-1e3, 1e3)]])
        inv = invert_similarity(m)
        np.testing.assert_allclose(np.vstack([inv, [0, 0, 1]]), np.linalg.inv(np.vstack([m, [0, 0, 1]])),
                                   rtol=1e-9, atol=1e-9)
        p = rng.uniform(-100, 100, (5, 2))
        np.testing.assert_allclose(apply_affine(inv, apply_affine(m, p)), p, atol=1e-8)
