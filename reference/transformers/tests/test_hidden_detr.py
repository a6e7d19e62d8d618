"""Hidden tests of DETR's matcher, set criterion and inference [detr].

Oracles: scipy.optimize.linear_sum_assignment on a float64 cost built here, torchvision.ops
(generalized_box_iou, box_convert), F.cross_entropy, and float64 formulas of DETR's losses.
"""


import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torchvision.ops import box_convert, generalized_box_iou

from _tf_oracles import cxcywh_boxes, randn
from harness.testkit import assert_tensor, check_gradient, devices


def cost_oracle(logits, boxes, labels, tboxes, wc=1.0, wb=5.0, wg=2.0):
    prob = logits.double().softmax(-1)
    l1 = (boxes.double()[:, None, :] - tboxes.double()[None]).abs().sum(-1)
    giou = generalized_box_iou(box_convert(boxes.double(), "cxcywh", "xyxy"),
                               box_convert(tboxes.double(), "cxcywh", "xyxy"))
    return wb * l1 - wc * prob[:, labels] - wg * giou


def make_batch(q, counts, k, seed):
    logits = randn(len(counts), q, k + 1, seed=seed, scale=2.0)
    boxes = torch.stack([cxcywh_boxes(q, seed=seed + 1 + b) for b in range(len(counts))])
    targets = []
    for b, t in enumerate(counts):
        gen = torch.Generator().manual_seed(seed + 100 + b)
        targets.append({"labels": torch.randint(0, k, (t,), generator=gen),
                        "boxes": cxcywh_boxes(t, seed=seed + 200 + b)})
    return logits, boxes, targets


@pytest.mark.task("detr")
def test_box_conversion_and_giou(student):
    b = cxcywh_boxes(7, seed=1, dtype=torch.float64)
    assert_tensor(student.box_cxcywh_to_xyxy(b), box_convert(b, "cxcywh", "xyxy"), atol=1e-12, case="cxcywh -> xyxy")
    x1 = box_convert(b, "cxcywh", "xyxy")
    x2 = box_convert(cxcywh_boxes(5, seed=2, dtype=torch.float64), "cxcywh", "xyxy")
    x2[0] = x1[3]  # identical boxes: GIoU 1
    assert_tensor(student.generalized_box_iou(x1, x2), generalized_box_iou(x1, x2), atol=1e-12, case="GIoU")
    with pytest.raises(ValueError, match="x2 < x1|boxes1"):
        student.generalized_box_iou(torch.tensor([[2.0, 0.0, 1.0, 1.0]]), x2.float())


@pytest.mark.task("detr")
@pytest.mark.parametrize("weights", [(1.0, 5.0, 2.0), (2.0, 1.0, 0.0), (0.0, 0.0, 1.0)])
def test_matching_cost(student, weights):
    logits, boxes, targets = make_batch(6, [4], 3, seed=3)
    t = targets[0]
    got = student.matching_cost(logits[0], boxes[0], t["labels"], t["boxes"], *weights)
    assert_tensor(got, cost_oracle(logits[0], boxes[0], t["labels"], t["boxes"], *weights).float(), atol=1e-5,
                  rtol=1e-5, case=f"weights {weights}")


@pytest.mark.task("detr")
@pytest.mark.parametrize("q, counts", [(8, [3, 0, 5]), (5, [5]), (4, [6]), (10, [1, 1])])
def test_hungarian_match_is_optimal(student, q, counts):
    logits, boxes, targets = make_batch(q, counts, 4, seed=q + sum(counts))
    got = student.hungarian_match(logits, boxes, targets)
    assert len(got) == len(counts)
    for b, ((i, j), t) in enumerate(zip(got, targets)):
        cost = cost_oracle(logits[b], boxes[b], t["labels"], t["boxes"])
        ri, rj = linear_sum_assignment(cost.numpy())
        assert type(i) is torch.Tensor and i.dtype == torch.int64 and j.dtype == torch.int64, f"image {b}: int64"
        assert i.numel() == j.numel() == min(q, len(t["labels"])), f"image {b}: {i.numel()} pairs"
        assert i.tolist() == sorted(i.tolist()), f"image {b}: pred_idx must be sorted"
        assert len(set(i.tolist())) == i.numel() and len(set(j.tolist())) == j.numel(), "one-to-one"
        total = float(cost[i, j].sum()) if i.numel() else 0.0
        assert abs(total - float(cost[ri, rj].sum())) < 1e-5, f"image {b}: total cost {total} is not minimal"


@pytest.mark.task("detr")
def test_hungarian_match_with_ties_compares_total_cost(student):
    # two identical predictions: either can take the target; total cost decides
    logits = torch.zeros(1, 3, 3)
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1]]])
    targets = [{"labels": torch.tensor([1]), "boxes": torch.tensor([[0.5, 0.5, 0.2, 0.2]])}]
    (i, j), = student.hungarian_match(logits, boxes, targets)
    assert i.tolist() in ([0], [1]) and j.tolist() == [0]


@pytest.mark.task("detr")
def test_hungarian_match_weights_change_the_matching(student):
    # prediction 0 has the right class but a far box; prediction 1 the right box, wrong class
    logits = torch.tensor([[[8.0, -8.0, 0.0], [-8.0, 8.0, 0.0]]])
    boxes = torch.tensor([[[0.2, 0.2, 0.1, 0.1], [0.8, 0.8, 0.2, 0.2]]])
    targets = [{"labels": torch.tensor([0]), "boxes": torch.tensor([[0.8, 0.8, 0.2, 0.2]])}]
    (i, _), = student.hungarian_match(logits, boxes, targets, cost_class=1.0, cost_bbox=5.0, cost_giou=2.0)
    assert i.tolist() == [1], "with box costs the closer box wins"
    (i, _), = student.hungarian_match(logits, boxes, targets, cost_class=10.0, cost_bbox=0.0, cost_giou=0.0)
    assert i.tolist() == [0], "with class cost only the right class wins"


def criterion_oracle(logits, boxes, targets, k, eos, aux=()):
    num_boxes = max(sum(len(t["labels"]) for t in targets), 1)

    def layer(lg, bx):
        lg, bx = lg.double(), bx.double()
        # the optimal matching by brute force over scipy (costs from the oracle)
        idx = [linear_sum_assignment(cost_oracle(lg[b], bx[b], t["labels"], t["boxes"]).numpy())
               for b, t in enumerate(targets)]
        cls = torch.full(lg.shape[:2], k, dtype=torch.int64)
        w = torch.ones(k + 1, dtype=torch.float64)
        w[-1] = eos
        l1 = gi = 0.0
        for b, ((i, j), t) in enumerate(zip(idx, targets)):
            i, j = torch.as_tensor(i, dtype=torch.int64), torch.as_tensor(j, dtype=torch.int64)
            cls[b, i] = t["labels"][j]
            l1 = l1 + (bx[b, i] - t["boxes"][j].double()).abs().sum()
            g = generalized_box_iou(box_convert(bx[b, i], "cxcywh", "xyxy"),
                                    box_convert(t["boxes"][j].double(), "cxcywh", "xyxy"))
            gi = gi + (1 - torch.diag(g)).sum()
        ce = F.cross_entropy(lg.reshape(-1, k + 1), cls.reshape(-1), weight=w)
        return {"loss_ce": ce, "loss_bbox": l1 / num_boxes, "loss_giou": gi / num_boxes}

    out = layer(logits, boxes)
    for n, (lg, bx) in enumerate(aux):
        out.update({f"{key}_{n}": v for key, v in layer(lg, bx).items()})
    return out


@pytest.mark.task("detr")
@pytest.mark.parametrize("eos", [0.1, 1.0])
def test_set_criterion(student, eos):
    logits, boxes, targets = make_batch(6, [2, 4], 3, seed=21)
    got = student.set_criterion(logits, boxes, targets, 3, eos_coef=eos)
    expected = criterion_oracle(logits, boxes, targets, 3, eos)
    assert sorted(got) == sorted(expected), f"keys {sorted(got)}"
    for key in expected:
        assert_tensor(got[key].double(), expected[key].reshape(()), atol=1e-5, rtol=1e-5, case=f"{key}, eos={eos}")


@pytest.mark.task("detr")
def test_set_criterion_aux_losses_match_afresh(student):
    logits, boxes, targets = make_batch(5, [3, 1], 2, seed=31)
    aux = [make_batch(5, [3, 1], 2, seed=40 + n)[:2] for n in range(2)]
    got = student.set_criterion(logits, boxes, targets, 2, aux_logits=[a[0] for a in aux],
                                aux_boxes=[a[1] for a in aux])
    expected = criterion_oracle(logits, boxes, targets, 2, 0.1, aux)
    assert sorted(got) == sorted(expected), f"keys {sorted(got)}, expected {sorted(expected)}"
    for key in expected:
        assert_tensor(got[key].double(), expected[key].reshape(()), atol=1e-5, rtol=1e-5, case=key)


@pytest.mark.task("detr")
def test_set_criterion_without_targets(student):
    logits, boxes, _ = make_batch(4, [0], 3, seed=51)
    targets = [{"labels": torch.zeros(0, dtype=torch.int64), "boxes": torch.zeros(0, 4)}]
    got = student.set_criterion(logits, boxes, targets, 3)
    cls = torch.full((4,), 3)
    w = torch.tensor([1.0, 1.0, 1.0, 0.1])
    assert_tensor(got["loss_ce"], F.cross_entropy(logits[0], cls, weight=w), atol=1e-6, case="all no-object")
    assert_tensor(got["loss_bbox"], torch.tensor(0.0), atol=1e-7, case="no boxes")
    assert_tensor(got["loss_giou"], torch.tensor(0.0), atol=1e-7, case="no boxes")


@pytest.mark.task("detr")
def test_giou_and_cost_gradients(student):
    x1 = box_convert(cxcywh_boxes(3, seed=61, dtype=torch.float64), "cxcywh", "xyxy")
    x2 = box_convert(cxcywh_boxes(4, seed=62, dtype=torch.float64), "cxcywh", "xyxy")
    check_gradient(student, "generalized_box_iou", [x1, x2], wrt=(0, 1))
    logits, boxes, targets = make_batch(4, [3], 3, seed=63)
    t = targets[0]
    check_gradient(student, "matching_cost", [logits[0].double(), boxes[0].double(), t["labels"],
                                              t["boxes"].double()], wrt=(0, 1))


@pytest.mark.task("detr")
def test_set_criterion_rejects_wrong_classes(student):
    logits, boxes, targets = make_batch(4, [2], 3, seed=71)
    with pytest.raises(ValueError, match="num_classes|pred_logits"):
        student.set_criterion(logits, boxes, targets, 4)


@pytest.mark.task("detr")
@pytest.mark.parametrize("device", devices())
def test_detr_postprocess(student, device):
    logits, boxes, _ = make_batch(7, [0, 0], 4, seed=81)
    sizes = torch.tensor([[30, 50], [64, 48]])
    got = student.detr_postprocess(logits.to(device), boxes.to(device), sizes.to(device))
    assert len(got) == 2
    prob = logits.softmax(-1)[..., :-1]
    for b in range(2):
        s, lb = prob[b].max(-1)
        h, w = sizes[b].tolist()
        bx = box_convert(boxes[b], "cxcywh", "xyxy") * torch.tensor([w, h, w, h])
        assert_tensor(got[b]["scores"], s.to(device), atol=1e-6, case=f"image {b}: scores (no NMS, every query)")
        assert_tensor(got[b]["labels"], lb.to(device), case=f"image {b}: labels (no-object dropped)")
        assert_tensor(got[b]["boxes"], bx.to(device), atol=1e-4, case=f"image {b}: boxes in pixels")


@pytest.mark.task("detr")
def test_detr_postprocess_keeps_overlapping_duplicates(student):
    logits = torch.tensor([[[5.0, 0.0, 0.0], [5.0, 0.0, 0.0]]])
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2]]])
    out = student.detr_postprocess(logits, boxes, torch.tensor([[10, 10]]))
    assert out[0]["boxes"].shape == (2, 4), "DETR does no NMS: both duplicates stay"


@pytest.mark.task("detr")
@pytest.mark.parametrize("counts", [[1], [0, 1], [1, 0, 0]], ids=str)
def test_set_criterion_with_one_box_in_the_batch(student, counts):
    # the normaliser max(#boxes, 1) at its smallest non-empty value: one box in the whole batch
    logits, boxes, targets = make_batch(4, counts, 3, seed=61 + len(counts))
    got = student.set_criterion(logits, boxes, targets, 3)
    expected = criterion_oracle(logits, boxes, targets, 3, 0.1)
    for key in expected:
        assert_tensor(got[key].double(), expected[key].reshape(()), atol=1e-5, rtol=1e-5,
                      case=f"{key}, boxes per image {counts}")
