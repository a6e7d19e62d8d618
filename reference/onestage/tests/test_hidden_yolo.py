"""Hidden tests of YOLO v1 [yolo].

Oracle: a float64 loop implementation written here (cells, responsible predictor, targets and
the loss, with torch scalar operations so that autograd gives the oracle's gradients).
"""

import math

import pytest
import torch

from harness.testkit import assert_tensor, check_gradient, devices


def gen(seed):
    return torch.Generator().manual_seed(seed)


def random_boxes(m, seed, dtype=torch.float64, lo=0.05, hi=0.6):
    g = gen(seed)
    c = 0.02 + 0.96 * torch.rand(m, 2, generator=g, dtype=torch.float64)
    wh = lo + (hi - lo) * torch.rand(m, 2, generator=g, dtype=torch.float64)
    return torch.cat([c - wh / 2, c + wh / 2], 1).clamp(0, 1).to(dtype)


def random_pred(n, S, B, C, seed, dtype=torch.float64):
    """Offsets in (0, 1), sizes in (0.05, 0.6), confidences and class scores in (0, 1)."""
    g = gen(seed)
    p = torch.rand(n, S, S, B * 5 + C, generator=g, dtype=torch.float64)
    box = p[..., :B * 5].reshape(n, S, S, B, 5).clone()
    box[..., 2:4] = 0.05 + 0.55 * box[..., 2:4]
    p = torch.cat([box.reshape(n, S, S, B * 5), p[..., B * 5:]], -1)
    return p.to(dtype)


# ------------------------------------------------------------------------------ the oracle
def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def loop_cell(box, S):
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return min(max(math.floor(cy * S), 0), S - 1), min(max(math.floor(cx * S), 0), S - 1)


def loop_decode(pred, S, B):
    """[S, S, B*5+C] -> nested lists [S][S][B] of (x1, y1, x2, y2)."""
    p = pred.tolist()
    out = []
    for r in range(S):
        row = []
        for c in range(S):
            cell = []
            for b in range(B):
                x, y, w, h = p[r][c][b * 5:b * 5 + 4]
                w, h = max(w, 0.0), max(h, 0.0)
                cx, cy = (c + x) / S, (r + y) / S
                cell.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
            row.append(cell)
        out.append(row)
    return out


def loop_targets(pred, boxes, labels, S, B, C):
    target = torch.zeros(S, S, B * 5 + C, dtype=torch.float64)
    resp = torch.zeros(S, S, B, dtype=torch.bool)
    decoded = loop_decode(pred.detach().double(), S, B)
    seen = set()
    for m, box in enumerate(boxes.double().tolist()):
        r, c = loop_cell(box, S)
        if (r, c) in seen:
            continue  # the first ground truth of a cell wins
        seen.add((r, c))
        best, best_iou = 0, -1.0
        for b in range(B):
            iou = _iou(decoded[r][c][b], box)
            if iou > best_iou:
                best, best_iou = b, iou
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        target[r, c, best * 5:best * 5 + 5] = torch.tensor([cx * S - c, cy * S - r, box[2] - box[0],
                                                            box[3] - box[1], best_iou], dtype=torch.float64)
        target[r, c, B * 5 + int(labels[m])] = 1.0
        resp[r, c, best] = True
    return target, resp


def loop_loss(pred, boxes, labels, S, B, C, lambda_coord=5.0, lambda_noobj=0.5):
    """Differentiable (torch scalars) float64 loop."""
    n = pred.shape[0]
    if n == 0:
        return torch.zeros((), dtype=torch.float64)
    total = torch.zeros((), dtype=torch.float64)
    for i in range(n):
        target, resp = loop_targets(pred[i], boxes[i], labels[i], S, B, C)
        for r in range(S):
            for c in range(S):
                for b in range(B):
                    p, t = pred[i, r, c, b * 5:b * 5 + 5], target[r, c, b * 5:b * 5 + 5]
                    if resp[r, c, b]:
                        total = total + lambda_coord * ((p[0] - t[0]) ** 2 + (p[1] - t[1]) ** 2)
                        total = total + lambda_coord * ((math.sqrt(t[2]) - torch.sqrt(p[2].clamp(min=1e-9))) ** 2
                                                        + (math.sqrt(t[3]) - torch.sqrt(p[3].clamp(min=1e-9))) ** 2)
                        total = total + (t[4] - p[4]) ** 2
                    else:
                        total = total + lambda_noobj * p[4] ** 2
                if bool(resp[r, c].any()):
                    total = total + ((pred[i, r, c, B * 5:] - target[r, c, B * 5:]) ** 2).sum()
    return total / n


# ------------------------------------------------------------------------------ cells
@pytest.mark.task("yolo")
def test_cell_index_borders_are_pinned(student):
    # S = 4: borders at 0.25, 0.5, 0.75 (exact in binary)
    centres = [(0.25, 0.5), (0.0, 0.0), (1.0, 1.0), (0.74, 0.76), (0.125, 0.999), (0.5, 0.25)]
    boxes = torch.tensor([[cx - 0.05, cy - 0.05, cx + 0.05, cy + 0.05] for cx, cy in centres], dtype=torch.float64)
    expected = torch.tensor([[2, 1], [0, 0], [3, 3], [3, 2], [3, 0], [1, 2]])
    assert_tensor(student.yolo_cell_index(boxes, 4), expected,
                  case="(row, col); a centre on a border goes right / down, 1.0 to the last cell")


@pytest.mark.task("yolo")
@pytest.mark.parametrize("S", [1, 7, 13])
def test_cell_index_matches_loop(student, S):
    boxes = random_boxes(40, seed=S)
    expected = torch.tensor([loop_cell(b, S) for b in boxes.tolist()], dtype=torch.int64)
    assert_tensor(student.yolo_cell_index(boxes, S), expected, case=f"S={S}")
    assert_tensor(student.yolo_cell_index(boxes.float(), S), expected, case=f"S={S}, float32")


@pytest.mark.task("yolo")
def test_cell_index_empty_and_errors(student):
    assert_tensor(student.yolo_cell_index(torch.zeros(0, 4), 7), torch.zeros(0, 2, dtype=torch.int64), case="empty")
    with pytest.raises(ValueError, match="S"):
        student.yolo_cell_index(torch.zeros(1, 4), 0)
    with pytest.raises(ValueError, match="boxes"):
        student.yolo_cell_index(torch.zeros(3, 5), 7)


# ------------------------------------------------------------------------------ decode
@pytest.mark.task("yolo")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_decode_matches_loop(student, dtype):
    S, B, C = 5, 3, 2
    pred = random_pred(2, S, B, C, seed=3, dtype=dtype)
    pred[0, 1, 2, 2] = -0.3  # a negative width is clamped at 0
    pred[1, 4, 0, 5 + 3] = -0.1  # a negative height (predictor 1)
    expected = torch.tensor([loop_decode(p.double(), S, B) for p in pred], dtype=torch.float64).to(dtype)
    got = student.yolo_decode(pred, S, B, C)
    assert_tensor(got, expected, atol=1e-6 if dtype == torch.float32 else 1e-12, case="[N, S, S, B, 4]")
    assert_tensor(student.yolo_decode(pred[0], S, B, C), expected[0], atol=1e-6, case="one image [S, S, B, 4]",
                  check_dtype=False)


@pytest.mark.task("yolo")
def test_decode_rejects_bad_layout(student):
    with pytest.raises(ValueError, match="pred"):
        student.yolo_decode(torch.zeros(7, 7, 29), 7, 2, 20)
    with pytest.raises(ValueError, match=r"S, B and C|\bB\b"):
        student.yolo_decode(torch.zeros(7, 7, 30), 7, 0, 30)


# ------------------------------------------------------------------------------ targets
@pytest.mark.task("yolo")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_targets_match_loop(student, seed):
    S, B, C = 7, 2, 4
    pred = random_pred(1, S, B, C, seed=10 + seed)[0]
    boxes = random_boxes(9, seed=20 + seed)
    labels = torch.randint(0, C, (9,), generator=gen(seed))
    target, resp = student.yolo_targets(pred, boxes, labels, S, B, C)
    exp_t, exp_r = loop_targets(pred, boxes, labels, S, B, C)
    assert_tensor(resp, exp_r, case="responsible predictors [S, S, B]")
    assert_tensor(target, exp_t, atol=1e-12, case="target [S, S, B*5+C]")


@pytest.mark.task("yolo")
def test_targets_float32(student):
    S, B, C = 4, 2, 3
    pred = random_pred(1, S, B, C, seed=5, dtype=torch.float32)[0]
    boxes = random_boxes(5, seed=6, dtype=torch.float32)
    labels = torch.tensor([0, 2, 1, 1, 0])
    target, resp = student.yolo_targets(pred, boxes, labels, S, B, C)
    exp_t, exp_r = loop_targets(pred, boxes, labels, S, B, C)
    assert_tensor(resp, exp_r, case="responsible")
    assert_tensor(target, exp_t.float(), atol=1e-5, case="float32 pred -> float32 target")


@pytest.mark.task("yolo")
def test_targets_mixed_dtypes(student):
    S, B, C = 4, 2, 3
    pred = random_pred(1, S, B, C, seed=9, dtype=torch.float32)[0]
    boxes = random_boxes(6, seed=10, dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 1, 0, 2])
    target, resp = student.yolo_targets(pred, boxes, labels, S, B, C)
    exp_t, exp_r = loop_targets(pred, boxes, labels, S, B, C)
    assert_tensor(resp, exp_r, case="responsible")
    assert_tensor(target, exp_t.float(), atol=1e-5, case="float32 pred, float64 boxes -> float32 target")


@pytest.mark.task("yolo")
def test_responsible_predictor_is_the_highest_iou(student):
    S, B, C = 2, 3, 2
    pred = torch.zeros(S, S, B * 5 + C, dtype=torch.float64)
    # cell (0, 1): predictor 0 far off, predictor 1 close, predictor 2 closest -> 2
    pred[0, 1, 0:4] = torch.tensor([0.1, 0.1, 0.1, 0.1], dtype=torch.float64)
    pred[0, 1, 5:9] = torch.tensor([0.5, 0.5, 0.3, 0.2], dtype=torch.float64)
    pred[0, 1, 10:14] = torch.tensor([0.5, 0.5, 0.4, 0.4], dtype=torch.float64)
    gt = torch.tensor([[0.55, 0.05, 0.95, 0.45]], dtype=torch.float64)  # centre (0.75, 0.25), 0.4 x 0.4
    target, resp = student.yolo_targets(pred, gt, torch.tensor([1]), S, B, C)
    expected_resp = torch.zeros(S, S, B, dtype=torch.bool)
    expected_resp[0, 1, 2] = True
    assert_tensor(resp, expected_resp, case="the predictor with the highest IoU is responsible")
    expected = torch.zeros(S, S, B * 5 + C, dtype=torch.float64)
    # offsets in the cell, size, IoU = 1
    expected[0, 1, 10:15] = torch.tensor([0.5, 0.5, 0.4, 0.4, 1.0], dtype=torch.float64)
    expected[0, 1, 15 + 1] = 1.0
    assert_tensor(target, expected, atol=1e-12, case="layout [x, y, w, h, conf] * B + classes")


@pytest.mark.task("yolo")
def test_confidence_target_is_the_iou_and_ties_take_the_first(student):
    S, B, C = 1, 2, 1
    pred = torch.zeros(S, S, B * 5 + C, dtype=torch.float64)
    pred[0, 0, 0:4] = torch.tensor([0.5, 0.5, 0.5, 0.25], dtype=torch.float64)  # IoU 0.5 with the gt
    pred[0, 0, 5:9] = torch.tensor([0.5, 0.5, 0.25, 0.5], dtype=torch.float64)  # IoU 0.5 as well: a tie -> predictor 0
    gt = torch.tensor([[0.25, 0.25, 0.75, 0.75]], dtype=torch.float64)
    target, resp = student.yolo_targets(pred, gt, torch.tensor([0]), S, B, C)
    assert_tensor(resp, torch.tensor([[[True, False]]]), case="equal IoUs: the lowest b")
    assert_tensor(target[0, 0], torch.tensor([0.5, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0, 0, 1.0], dtype=torch.float64),
                  atol=1e-12, case="conf target = IoU of the responsible predicted box")
    # no overlap at all: predictor 0, confidence target 0
    pred[0, 0, 2:4] = 0.0
    pred[0, 0, 7:9] = 0.0
    target, resp = student.yolo_targets(pred, gt, torch.tensor([0]), S, B, C)
    assert_tensor(resp, torch.tensor([[[True, False]]]), case="no overlap: predictor 0")
    assert float(target[0, 0, 4]) == 0.0, f"confidence target without overlap must be 0, got {float(target[0, 0, 4])}"


@pytest.mark.task("yolo")
def test_two_ground_truths_in_one_cell_keep_the_first(student):
    S, B, C = 2, 2, 3
    pred = random_pred(1, S, B, C, seed=7)[0]
    boxes = torch.tensor([[0.1, 0.1, 0.3, 0.3], [0.0, 0.0, 0.45, 0.45], [0.6, 0.6, 0.9, 0.8],
                          [0.05, 0.15, 0.35, 0.25]], dtype=torch.float64)
    labels = torch.tensor([2, 0, 1, 1])
    target, resp = student.yolo_targets(pred, boxes, labels, S, B, C)
    exp_t, exp_r = loop_targets(pred, boxes, labels, S, B, C)
    assert_tensor(target[0, 0, B * 5:], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64),
                  case="cell (0, 0): the first ground truth's class only")
    assert_tensor(resp, exp_r, case="one responsible predictor per occupied cell")
    assert_tensor(target, exp_t, atol=1e-12, case="cell (0, 0) holds the first ground truth")
    # the order matters: reversed, the other box wins
    target2, _ = student.yolo_targets(pred, boxes.flip(0), labels.flip(0), S, B, C)
    exp_t2, _ = loop_targets(pred, boxes.flip(0), labels.flip(0), S, B, C)
    assert_tensor(target2, exp_t2, atol=1e-12, case="reversed order: the other first ground truth")


@pytest.mark.task("yolo")
def test_targets_of_an_empty_image(student):
    S, B, C = 3, 2, 2
    pred = random_pred(1, S, B, C, seed=8)[0]
    target, resp = student.yolo_targets(pred, torch.zeros(0, 4, dtype=torch.float64),
                                        torch.zeros(0, dtype=torch.int64), S, B, C)
    assert_tensor(target, torch.zeros(S, S, B * 5 + C, dtype=torch.float64), case="no object: all zeros")
    assert_tensor(resp, torch.zeros(S, S, B, dtype=torch.bool), case="no responsible predictor")


@pytest.mark.task("yolo")
def test_targets_reject_bad_arguments(student):
    pred = torch.zeros(3, 3, 12)
    with pytest.raises(ValueError, match="labels"):
        student.yolo_targets(pred, torch.zeros(1, 4), torch.tensor([2]), 3, 2, 2)
    with pytest.raises(ValueError, match="labels"):
        student.yolo_targets(pred, torch.zeros(1, 4), torch.tensor([-1]), 3, 2, 2)
    with pytest.raises(ValueError, match="labels|boxes"):  # lengths disagree: either may be named
        student.yolo_targets(pred, torch.zeros(2, 4), torch.tensor([0]), 3, 2, 2)
    with pytest.raises(ValueError, match="pred"):
        student.yolo_targets(torch.zeros(1, 3, 3, 12), torch.zeros(1, 4), torch.tensor([0]), 3, 2, 2)
    with pytest.raises(TypeError, match="boxes"):
        student.yolo_targets(pred, torch.zeros(1, 4, dtype=torch.int64), torch.tensor([0]), 3, 2, 2)


# ------------------------------------------------------------------------------ the loss
def batch(seed, n=3, S=7, B=2, C=3, dtype=torch.float64, counts=(4, 0, 6)):
    pred = random_pred(n, S, B, C, seed=seed, dtype=dtype)
    boxes = [random_boxes(counts[i % len(counts)], seed=seed * 10 + i, dtype=dtype) for i in range(n)]
    labels = [torch.randint(0, C, (counts[i % len(counts)],), generator=gen(seed + i)) for i in range(n)]
    return pred, boxes, labels


@pytest.mark.task("yolo")
@pytest.mark.parametrize("lambdas", [(5.0, 0.5), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (2.5, 3.0)])
def test_loss_matches_loop(student, lambdas):
    pred, boxes, labels = batch(seed=30)
    expected = loop_loss(pred, boxes, labels, 7, 2, 3, *lambdas)
    got = student.yolo_loss(pred, boxes, labels, 7, 2, 3, lambda_coord=lambdas[0], lambda_noobj=lambdas[1])
    assert_tensor(got, expected, atol=1e-10, rtol=1e-10, case=f"lambda_coord, lambda_noobj = {lambdas}")


@pytest.mark.task("yolo")
def test_loss_defaults_and_float32(student):
    pred, boxes, labels = batch(seed=31, S=7, B=2, C=20)
    expected = loop_loss(pred, boxes, labels, 7, 2, 20)
    assert_tensor(student.yolo_loss(pred, boxes, labels), expected, atol=1e-10, rtol=1e-10,
                  case="defaults S=7, B=2, C=20, lambda_coord=5, lambda_noobj=0.5")
    got = student.yolo_loss(pred.float(), [b.float() for b in boxes], labels)
    assert_tensor(got, expected.float(), atol=1e-4, rtol=1e-4, case="float32")


@pytest.mark.task("yolo")
def test_loss_sqrt_of_sizes_and_negative_sizes(student):
    """A wrong size costs more for small boxes (the square roots), and a negative predicted size
    is clamped (finite loss)."""
    S, B, C = 1, 1, 1
    gt = [torch.tensor([[0.45, 0.45, 0.55, 0.55]], dtype=torch.float64)]
    lab = [torch.tensor([0])]
    pred = torch.tensor([[[[0.5, 0.5, 0.2, 0.1, 0.0, 1.0]]]], dtype=torch.float64)
    expected = loop_loss(pred, gt, lab, S, B, C)
    assert_tensor(student.yolo_loss(pred, gt, lab, S, B, C), expected, atol=1e-12, case="sqrt(w), sqrt(h)")
    pred[..., 2] = -0.2
    expected = loop_loss(pred, gt, lab, S, B, C)
    got = student.yolo_loss(pred, gt, lab, S, B, C)
    assert_tensor(got, expected, atol=1e-9, case="negative predicted width")


@pytest.mark.task("yolo")
def test_loss_is_a_batch_mean(student):
    pred, boxes, labels = batch(seed=32, n=2, counts=(3, 5))
    one = student.yolo_loss(pred[:1], boxes[:1], labels[:1], 7, 2, 3)
    two = student.yolo_loss(torch.cat([pred[:1], pred[:1]]), boxes[:1] * 2, labels[:1] * 2, 7, 2, 3)
    assert_tensor(two, one, atol=1e-12, case="the same image twice: the same loss (divided by N)")


@pytest.mark.task("yolo")
def test_loss_of_empty_images_and_empty_batch(student):
    pred = random_pred(2, 3, 2, 2, seed=33)
    empty = [torch.zeros(0, 4, dtype=torch.float64)] * 2
    nolab = [torch.zeros(0, dtype=torch.int64)] * 2
    expected = 0.5 * (pred[..., [4, 9]] ** 2).sum() / 2
    assert_tensor(student.yolo_loss(pred, empty, nolab, 3, 2, 2), expected, atol=1e-12,
                  case="no objects: only the no-object confidence term")
    got = student.yolo_loss(torch.zeros(0, 3, 3, 12, dtype=torch.float64), [], [], 3, 2, 2)
    assert_tensor(got, torch.zeros((), dtype=torch.float64), case="empty batch: 0")


@pytest.mark.task("yolo")
def test_loss_gradient_matches_the_oracle(student):
    pred, boxes, labels = batch(seed=34, n=2, S=4, B=2, C=3, counts=(5, 2))
    v = torch.tensor(1.7, dtype=torch.float64)
    _, grads = student.vjp("yolo_loss", [pred, boxes, labels, 4, 2, 3], wrt=(0,), grad_outputs=v)
    p = pred.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(loop_loss(p, boxes, labels, 4, 2, 3) * v, p)
    assert_tensor(grads[0], expected, atol=1e-10, rtol=1e-8,
                  case="d loss / d pred (the targets, IoU included, carry no gradient)")


@pytest.mark.task("yolo")
def test_loss_gradcheck(student):
    """Numerical gradients where every responsible predicted box misses its ground truth (the
    IoU target is locally constant 0, so the detached target does not matter)."""
    S, B, C = 3, 2, 2
    pred = random_pred(1, S, B, C, seed=35)
    box = pred[..., :B * 5].reshape(1, S, S, B, 5).clone()
    box[..., 0:2] = 0.05 + 0.05 * box[..., 0:2]  # near the cell's top-left corner
    box[..., 2:4] = 0.02 + 0.02 * box[..., 2:4]  # tiny
    pred = torch.cat([box.reshape(1, S, S, B * 5), pred[..., B * 5:]], -1)
    gt = [torch.tensor([[0.1, 0.1, 0.25, 0.25], [0.7, 0.4, 0.95, 0.6], [0.4, 0.75, 0.6, 0.9]], dtype=torch.float64)]
    lab = [torch.tensor([0, 1, 1])]
    check_gradient(student, "yolo_loss", [pred, gt, lab, S, B, C], wrt=(0,))


@pytest.mark.task("yolo")
@pytest.mark.parametrize("device", devices())
def test_loss_on_device(student, device):
    pred, boxes, labels = batch(seed=36, n=2, counts=(3, 1))
    expected = loop_loss(pred, boxes, labels, 7, 2, 3)
    got = student.yolo_loss(pred.to(device), [b.to(device) for b in boxes], [lab.to(device) for lab in labels],
                            7, 2, 3)
    assert_tensor(got, expected.to(device), atol=1e-10, case=f"on {device}")


@pytest.mark.task("yolo")
def test_loss_rejects_bad_arguments(student):
    pred, boxes, labels = batch(seed=37, n=2, counts=(1, 1))
    with pytest.raises(ValueError, match="boxes|labels"):
        student.yolo_loss(pred, boxes[:1], labels, 7, 2, 3)
    with pytest.raises(ValueError, match="pred|boxes|labels"):  # 3-D pred: its N is not the lists' length
        student.yolo_loss(pred[0], boxes, labels, 7, 2, 3)
    with pytest.raises(ValueError, match="pred"):
        student.yolo_loss(pred, boxes, labels, 7, 2, 4)
