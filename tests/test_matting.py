"""Matting: a real onnxruntime session on a MODNet-signature model, the bundled fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from lib_facepop.matting import (
    Matter,
    ModnetSession,
    SelfieSegmenter,
    face_oval_mask,
    face_oval_ring,
    modnet_input_size,
    postprocess_mask,
)
from tests.modnet_double import build_modnet_like, expected_alpha


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory):
    return build_modnet_like(tmp_path_factory.mktemp("onnx") / "modnet_like.onnx")


@pytest.fixture(scope="module")
def face_crop():
    return np.ascontiguousarray(data.astronaut()[20:220, 130:330])


def test_input_size_follows_modnet_reference():
    assert modnet_input_size(720, 720) == (512, 512)
    assert modnet_input_size(720, 360) == (704, 352)  # one side in range: kept, floored to /32
    assert modnet_input_size(1440, 720) == (1024, 512)  # both above: short side to 512
    assert modnet_input_size(600, 500) == (600 - 600 % 32, 500 - 500 % 32)  # in range: kept, floored to /32
    assert modnet_input_size(100, 100) == (512, 512)


def test_onnx_session_runs_with_modnet_signature(onnx_path):
    sess = ModnetSession(onnx_path)
    assert sess.provider == "CPUExecutionProvider" and "CPU" in sess.describe()
    rng = np.random.default_rng(3)
    canvas = rng.integers(0, 255, (512, 512, 3), dtype=np.uint8)  # already MODNet's size: no resize
    (alpha,) = sess.predict([canvas])
    assert alpha.shape == (512, 512) and alpha.dtype == np.float32
    np.testing.assert_allclose(alpha, expected_alpha(canvas), atol=1e-5)
    dark, bright = np.zeros((64, 96, 3), np.uint8), np.full((70, 90, 3), 255, np.uint8)
    a_dark, a_bright = sess.predict([dark, bright])  # odd, non-/32 sizes, different shapes
    assert a_dark.shape == (64, 96) and a_bright.shape == (70, 90)
    assert a_dark.max() < 0.05 and a_bright.min() > 0.95


def test_batching_matches_one_by_one(onnx_path):
    sess = ModnetSession(onnx_path)
    rng = np.random.default_rng(4)
    canvases = [rng.integers(0, 255, (720, 720, 3), dtype=np.uint8) for _ in range(3)]
    canvases.append(rng.integers(0, 255, (720, 640, 3), dtype=np.uint8))
    batched = sess.predict(canvases)
    for c, a in zip(canvases, batched):
        np.testing.assert_allclose(a, sess.predict([c])[0], atol=1e-6)


def test_selfie_segments_the_face(face_crop):
    (a,) = SelfieSegmenter().predict([face_crop])
    assert a.shape == face_crop.shape[:2]
    assert a[100, 100] > 0.8  # face centre
    assert a[5, 195] < 0.3  # background corner


def test_face_oval_from_real_landmarks(face_crop):
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
        lm = fm.process(face_crop).multi_face_landmarks[0].landmark
    h, w = face_crop.shape[:2]
    pts = np.array([(p.x * w, p.y * h) for p in lm])
    ring = face_oval_ring()
    assert len(ring) == len(set(ring)) == 36
    m = face_oval_mask(pts, (w, h), ring)
    nose = pts[1].astype(int)
    assert m[nose[1], nose[0]] == 1.0
    assert m[0, 0] == m[-1, -1] == m[0, -1] == 0.0
    assert 0.1 < m.mean() < 0.6
    plain = face_oval_mask(None, (w, h))
    assert plain[h // 2, w // 2] == 1.0 and plain[0, 0] == 0.0


def test_postprocess_changes_area_monotonically():
    base = np.zeros((200, 200), np.float32)
    base[60:140, 60:140] = 1.0
    areas = [postprocess_mask(base, g, 0).sum() for g in (-10, -3, 0, 3, 10)]
    assert areas == sorted(areas) and areas[0] < base.sum() < areas[-1]
    soft = postprocess_mask(base, 0, 16)
    assert soft.max() <= 1.0 and 0 < soft[100, 55] < 1  # the edge is soft now
    assert soft[100, 100] > 0.99 and soft[5, 5] < 0.01


def test_fallback_chain_with_a_message(tmp_path, face_crop, onnx_path):
    m = Matter(models_dir=tmp_path, allow_download=False)
    res = m.matte([face_crop], "modnet")
    assert res.method_used == "selfie" and "downloads are off" in res.message and "selfie" in res.message
    assert res.alphas[0].shape == face_crop.shape[:2]
    # the failure is remembered: no second lookup, same message
    assert m.matte([face_crop], "modnet").message == res.message
    explicit = Matter(modnet_path=onnx_path, allow_download=False)
    r2 = explicit.matte([face_crop, face_crop], "modnet")
    assert r2.method_used == "modnet" and r2.provider == "CPUExecutionProvider" and r2.message == ""
    assert Matter(allow_download=False).matte([face_crop], "none").alphas[0].min() == 1.0
    with pytest.raises(ValueError):
        m.matte([face_crop], "rembg")


def test_broken_model_file_falls_back(tmp_path, face_crop):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx model")
    res = Matter(modnet_path=bad, allow_download=False).matte([face_crop], "modnet")
    assert res.method_used == "selfie" and "could not be loaded" in res.message


def test_cuda_fallback_is_reported(onnx_path, face_crop):
    """onnxruntime-gpu without CUDA: the session's real provider is read and the fallback said."""
    m = Matter(modnet_path=onnx_path, allow_download=False)
    sess = m.modnet()
    sess.requested = "CUDAExecutionProvider"  # as on a machine where CUDA is listed but does not load
    res = m.matte([face_crop], "modnet")
    assert res.provider == "CPUExecutionProvider"
    assert "did not load" in res.message and "CPU" in res.message
