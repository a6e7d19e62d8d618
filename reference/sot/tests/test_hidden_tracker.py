"""Hidden tests of the tracker's contract [tracker] (its accuracy is the accuracy check)."""

import pytest
import torch

from cv3data.sot import make_sot_sequence
from harness.metrics.sot import evaluate_sequence
from harness.testkit import assert_tensor


@pytest.mark.task("tracker")
def test_track_returns_one_finite_box_per_frame(student):
    seq = make_sot_sequence(4242, num_frames=12, num_distractors=0, occlusion=False)
    out = student.track(seq["frames"], seq["boxes"][0])
    assert type(out) is torch.Tensor and out.dtype == torch.float32 and tuple(out.shape) == (12, 4), \
        f"expected float32 Tensor[12, 4], got {out.dtype if type(out) is torch.Tensor else type(out)}"
    assert bool(torch.isfinite(out).all()), "non-finite boxes"
    assert_tensor(out[0], seq["boxes"][0].float(), atol=1e-4, case="frame 0 is the given box")


@pytest.mark.task("tracker")
def test_track_follows_an_easy_target(student):
    seq = make_sot_sequence(99, num_frames=24, num_distractors=0, occlusion=False, speed=1.0)
    out = student.track(seq["frames"], seq["boxes"][0])
    r = evaluate_sequence(out.double().numpy(), seq["boxes"].numpy())
    assert r["mean_iou"] > 0.5, f"mean IoU {r['mean_iou']:.3f} on an easy sequence (no distractor, no occlusion)"


@pytest.mark.task("tracker")
def test_track_single_frame_and_bad_input(student):
    seq = make_sot_sequence(5, num_frames=2)
    out = student.track(seq["frames"][:1], seq["boxes"][0])
    assert tuple(out.shape) == (1, 4)
    with pytest.raises(ValueError):
        student.track(seq["frames"].float(), seq["boxes"][0])
    with pytest.raises(ValueError):
        student.track(seq["frames"], torch.tensor([5.0, 5.0, 5.0, 9.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="frames"):  # "T >= 1"
        student.track(seq["frames"][:0], seq["boxes"][0])
