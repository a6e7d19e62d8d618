"""Hidden tests of region_descriptors, region_neighbours, region_similarity and grouping_step
[proposals].

No library computes selective search's measures the same way; the oracle is a straightforward
per-pixel / per-pair implementation in plain Python floats written here, on small label maps
(random rectangles and blobs, so regions are irregular and some touch only at a corner).
"""

import math

import pytest
import torch

from harness.testkit import assert_refused_or_same, assert_tensor


def label_map(h, w, seed, regions=6):
    """Irregular regions: nearest of ``regions`` random seeds under a random anisotropic metric,
    relabelled 0 .. R-1 in order of first appearance (every id used)."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.rand(regions, 2, generator=gen) * torch.tensor([h, w])
    scale = torch.rand(regions, generator=gen) + 0.5
    yy, xx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    d = ((yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2) * scale
    raw = d.argmin(dim=-1)
    _, inverse = torch.unique(raw, return_inverse=True)
    return inverse.to(torch.int64)


def rgb(h, w, seed, dtype=torch.float64):
    img = torch.rand(3, h, w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    img[:, 0, 0] = 1.0  # the top value lands in the last bin
    img[:, -1, -1] = 0.0
    return img.to(dtype)


def loop_descriptors(image, labels):
    img = image.double().tolist()
    lab = labels.tolist()
    h, w = len(lab), len(lab[0])
    n = max(max(r) for r in lab) + 1
    colour = [[0.0] * 75 for _ in range(n)]
    texture = [[0.0] * 24 for _ in range(n)]
    sizes = [0] * n
    boxes = [[math.inf, math.inf, -math.inf, -math.inf] for _ in range(n)]
    for r in range(h):
        for c in range(w):
            k = lab[r][c]
            sizes[k] += 1
            boxes[k] = [min(boxes[k][0], c), min(boxes[k][1], r), max(boxes[k][2], c + 1), max(boxes[k][3], r + 1)]
            for ch in range(3):
                v = img[ch][r][c]
                colour[k][ch * 25 + min(int(math.floor(v * 25)), 24)] += 1
                gr = img[ch][r + 1][c] - img[ch][r - 1][c] if 0 < r < h - 1 else 0.0
                gc = img[ch][r][c + 1] - img[ch][r][c - 1] if 0 < c < w - 1 else 0.0
                theta = math.degrees(math.atan2(gr, gc)) % 360.0
                texture[k][ch * 8 + min(int(theta // 45.0), 7)] += math.hypot(gr, gc)
    norm = lambda rows: [[v / sum(row) if sum(row) > 0 else 0.0 for v in row] for row in rows]  # noqa: E731
    return (torch.tensor(norm(colour), dtype=torch.float64), torch.tensor(norm(texture), dtype=torch.float64),
            torch.tensor(sizes, dtype=torch.int64), torch.tensor(boxes, dtype=torch.float64))


def loop_neighbours(labels):
    lab = labels.tolist()
    h, w = len(lab), len(lab[0])
    pairs = set()
    for r in range(h):
        for c in range(w):
            for rr, cc in ((r, c + 1), (r + 1, c)):
                if rr < h and cc < w and lab[rr][cc] != lab[r][c]:
                    a, b = sorted((lab[r][c], lab[rr][cc]))
                    pairs.add((a, b))
    return torch.tensor(sorted(pairs), dtype=torch.int64).reshape(-1, 2)


def loop_similarity(colour, texture, sizes, boxes, pairs, area):
    out = []
    for i, j in pairs.tolist():
        sc = sum(min(a, b) for a, b in zip(colour[i].tolist(), colour[j].tolist()))
        st = sum(min(a, b) for a, b in zip(texture[i].tolist(), texture[j].tolist()))
        si, sj = float(sizes[i]), float(sizes[j])
        bi, bj = boxes[i].tolist(), boxes[j].tolist()
        bw = max(bi[2], bj[2]) - min(bi[0], bj[0])
        bh = max(bi[3], bj[3]) - min(bi[1], bj[1])
        out.append([sc, st, 1 - (si + sj) / area, 1 - (bw * bh - si - sj) / area])
    return torch.tensor(out, dtype=torch.float64).reshape(-1, 4)


def descriptors(student, image, labels):
    d = student.region_descriptors(image, labels)
    assert type(d) is dict and {"colour", "texture", "sizes", "boxes"} <= set(d), \
        "region_descriptors returns a dict with colour, texture, sizes and boxes"
    return d


# ------------------------------------------------------------------------------- descriptors
@pytest.mark.task("proposals")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("seed,shape,regions", [(0, (12, 15), 6), (1, (9, 20), 9), (2, (7, 7), 2)])
def test_region_descriptors_against_loops(student, dtype, seed, shape, regions):
    labels = label_map(*shape, seed=seed, regions=regions)
    image = rgb(*shape, seed=seed + 10, dtype=dtype)
    d = descriptors(student, image, labels)
    c, t, s, b = loop_descriptors(image, labels)
    assert_tensor(d["colour"], c, atol=1e-12, case="colour: 25 bins per channel, L1 over all 75")
    assert_tensor(d["texture"], t, atol=1e-6 if dtype == torch.float32 else 1e-12,
                  case="texture: 8 signed-orientation bins per channel, magnitude votes, L1 over all 24")
    assert_tensor(d["sizes"], s, case="sizes in pixels")
    assert_tensor(d["boxes"], b, case="boxes (min col, min row, max col + 1, max row + 1)")


@pytest.mark.task("proposals")
def test_colour_histogram_bin_edges(student):
    # values exactly on the bin edges k / 25 go up a bin; 1.0 goes to the last bin
    labels = torch.zeros(1, 4, dtype=torch.int64)
    image = torch.tensor([0.0, 0.04, 0.0399, 1.0], dtype=torch.float64).expand(3, 1, 4).clone()
    d = descriptors(student, image, labels)
    one = torch.zeros(25, dtype=torch.float64)
    one[0], one[1], one[24] = 2.0, 1.0, 1.0
    expected = torch.cat([one, one, one])[None] / 12.0
    assert_tensor(d["colour"], expected, atol=1e-12, case="edges 0.04 -> bin 1, 0.0399 -> bin 0, 1.0 -> bin 24")


@pytest.mark.task("proposals")
def test_texture_is_signed(student):
    # a bright-right step and a bright-left step differ by 180 degrees: bins 0 and 4
    image = torch.zeros(3, 3, 4, dtype=torch.float64)
    image[:, :, 2:] = 1.0
    labels = torch.zeros(3, 4, dtype=torch.int64)
    labels[:, 2:] = 1
    d = descriptors(student, image, labels)
    flipped = descriptors(student, image.flip(2), labels.flip(1))
    assert float(d["texture"][0, 0]) > 0.3 and float(flipped["texture"][1, 4]) > 0.3, \
        "a gradient pointing right votes in bin 0, pointing left in bin 4 (signed, mod 360)"
    assert_tensor(d["texture"], loop_descriptors(image, labels)[1], atol=1e-12, case="step edge")


@pytest.mark.task("proposals")
def test_texture_tiny_negative_angle_is_in_the_last_bin(student):
    # g_row = -1e-300, g_col = 2: the angle -tiny mod 360 rounds to 360.0, which belongs to bin 7 [315, 360)
    image = torch.zeros(3, 3, 3, dtype=torch.float64)
    image[:, 0, 1] = 1e-300
    image[:, 1, 2] = 1.0
    labels = torch.zeros(3, 3, dtype=torch.int64)
    d = descriptors(student, image, labels)
    last = loop_descriptors(image, labels)[1]
    # the computed 360.0 may also wrap to bin 0 (360 mod 360): the spec pins neither; both keep the
    # vote in its own channel, which a bin index of 8 (the next channel's bin 0, or out of range) does not
    wrapped = last.reshape(1, 3, 8).roll(1, dims=2).reshape(1, 24)
    if float(d["texture"][0, 0]) > 0:
        assert_tensor(d["texture"], wrapped, atol=1e-12, case="theta = 360.0 wrapped -> bin 0 of each channel")
    else:
        assert_tensor(d["texture"], last, atol=1e-12, case="theta = 360.0 -> bin 7 of each channel")


@pytest.mark.task("proposals")
def test_float32_images_are_binned_in_float64(student):
    # float32(0.04) * 25 rounds to 1.0 in float32 but is 0.99999998 in float64: bin 0, as pinned
    image = torch.full((3, 2, 3), 0.04, dtype=torch.float32)
    image[:, :, 2] = 0.2
    labels = torch.zeros(2, 3, dtype=torch.int64)
    d = descriptors(student, image, labels)
    c, t, _, _ = loop_descriptors(image, labels)  # the loop reads the values as float64
    assert float(c[0, 0]) > 0 and float(c[0, 1]) == 0
    assert_tensor(d["colour"], c, atol=1e-12, case="float32 values binned by their float64 value")
    assert_tensor(d["texture"], t, atol=1e-12, case="float32 image, float64 gradients")


@pytest.mark.task("proposals")
def test_region_descriptors_of_a_low_contrast_image(student):
    # gradient magnitudes summing to less than 1 per region are still normalised to sum 1
    labels = label_map(10, 12, seed=3, regions=5)
    image = 0.5 + 0.002 * rgb(10, 12, seed=13)
    d = descriptors(student, image, labels)
    c, t, _, _ = loop_descriptors(image, labels)
    assert_tensor(d["texture"], t, atol=1e-12, case="texture of a low-contrast image: L1 over all 24")
    assert_tensor(d["colour"], c, atol=1e-12, case="colour of a low-contrast image")


@pytest.mark.task("proposals")
def test_region_without_gradient_has_zero_texture(student):
    image = torch.full((3, 4, 4), 0.5, dtype=torch.float64)
    d = descriptors(student, image, torch.zeros(4, 4, dtype=torch.int64))
    assert_tensor(d["texture"], torch.zeros(1, 24, dtype=torch.float64), case="flat image: no gradient, no nan")


@pytest.mark.task("proposals")
def test_region_descriptors_reject_bad_input(student):
    labels = torch.zeros(4, 4, dtype=torch.int64)
    labels[0, 0] = 2  # region 1 unused
    with pytest.raises(ValueError, match="labels|missing"):
        student.region_descriptors(torch.zeros(3, 4, 4), labels)
    with pytest.raises(ValueError, match=r"image|\[0, 1\]"):
        student.region_descriptors(torch.full((3, 4, 4), 2.0), torch.zeros(4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="image|3, 4, 4"):
        student.region_descriptors(torch.zeros(1, 4, 4), torch.zeros(4, 4, dtype=torch.int64))


# ------------------------------------------------------------------------------- neighbours
@pytest.mark.task("proposals")
@pytest.mark.parametrize("seed,shape,regions", [(0, (12, 15), 6), (3, (20, 9), 12), (4, (5, 5), 3)])
def test_region_neighbours_against_loops(student, seed, shape, regions):
    labels = label_map(*shape, seed=seed, regions=regions)
    assert_tensor(student.region_neighbours(labels), loop_neighbours(labels), case=f"{shape}, {regions} regions")


@pytest.mark.task("proposals")
def test_region_neighbours_diagonal_is_not_adjacent(student):
    labels = torch.tensor([[0, 1], [2, 0]])
    assert_tensor(student.region_neighbours(labels), torch.tensor([[0, 1], [0, 2]]),
                  case="1 and 2 touch only at a corner: 4-connectivity")
    assert_tensor(student.region_neighbours(torch.zeros(3, 3, dtype=torch.int64)), torch.zeros(0, 2, dtype=torch.int64),
                  case="a single region: [0, 2]")


# ------------------------------------------------------------------------------- similarity
@pytest.mark.task("proposals")
@pytest.mark.parametrize("seed", [0, 1])
def test_region_similarity_against_loops(student, seed):
    labels = label_map(14, 13, seed=seed, regions=7)
    image = rgb(14, 13, seed=seed)
    c, t, s, b = loop_descriptors(image, labels)
    pairs = loop_neighbours(labels)
    got = student.region_similarity(c, t, s, b, pairs, 14 * 13)
    assert_tensor(got, loop_similarity(c, t, s, b, pairs, 14 * 13), atol=1e-12,
                  case="columns (colour, texture, size, fill)")


@pytest.mark.task("proposals")
def test_region_similarity_hand_computed(student):
    colour = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]], dtype=torch.float64)
    texture = torch.tensor([[1.0, 0.0], [0.4, 0.6]], dtype=torch.float64)
    sizes = torch.tensor([4, 6])
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [3.0, 1.0, 5.0, 4.0]], dtype=torch.float64)
    got = student.region_similarity(colour, texture, sizes, boxes, torch.tensor([[0, 1]]), 100)
    # union box 5 x 4 = 20: fill 1 - (20 - 10) / 100
    expected = torch.tensor([[0.25, 0.4, 0.9, 0.9]], dtype=torch.float64)
    assert_tensor(got, expected, atol=1e-12, case="hand-computed pair")


@pytest.mark.task("proposals")
def test_region_similarity_rejects_bad_pairs(student):
    z = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="pairs"):
        student.region_similarity(z, z, torch.ones(2), torch.zeros(2, 4), torch.tensor([[0, 2]]), 10)
    with pytest.raises(ValueError, match="image_size"):
        student.region_similarity(z, z, torch.ones(2), torch.zeros(2, 4), torch.tensor([[0, 1]]), 0)


# ------------------------------------------------------------------------------- grouping
def loop_grouping(c, t, s, b, pairs, area, weights):
    sims = loop_similarity(c, t, s, b, pairs, area) @ torch.tensor(weights, dtype=torch.float64)
    best = max(range(len(sims)), key=lambda e: (float(sims[e]), -e))  # first maximum
    i, j = pairs[best].tolist()
    n = c.shape[0]
    si, sj = float(s[i]), float(s[j])
    c2 = torch.cat([c, ((si * c[i] + sj * c[j]) / (si + sj))[None]])
    t2 = torch.cat([t, ((si * t[i] + sj * t[j]) / (si + sj))[None]])
    s2 = torch.cat([s, torch.tensor([int(s[i] + s[j])])])
    bb = [min(b[i, 0], b[j, 0]), min(b[i, 1], b[j, 1]), max(b[i, 2], b[j, 2]), max(b[i, 3], b[j, 3])]
    b2 = torch.cat([b, torch.tensor([bb], dtype=torch.float64)])
    kept = [p for p in pairs.tolist() if i not in p and j not in p]
    nbrs = sorted({q for p in pairs.tolist() if (i in p or j in p) for q in p if q not in (i, j)})
    new_pairs = torch.tensor(kept + [[k, n] for k in nbrs], dtype=torch.int64).reshape(-1, 2)
    new_sims = loop_similarity(c2, t2, s2, b2, new_pairs, area) @ torch.tensor(weights, dtype=torch.float64)
    return (i, j), c2, t2, s2, b2, new_pairs, new_sims


@pytest.mark.task("proposals")
@pytest.mark.parametrize("seed,weights", [(0, (1.0, 1.0, 1.0, 1.0)), (1, (1.0, 0.0, 0.0, 0.0)),
                                          (2, (0.0, 0.0, 1.0, 1.0)),
                                          (3, (0.0, 2.0, 0.0, 0.5))])
def test_grouping_step_against_loops(student, seed, weights):
    labels = label_map(15, 12, seed=seed, regions=8)
    image = rgb(15, 12, seed=seed + 5)
    c, t, s, b = loop_descriptors(image, labels)
    pairs = loop_neighbours(labels)
    got = student.grouping_step(c, t, s, b, pairs, 180, weights=weights)
    (i, j), c2, t2, s2, b2, p2, sim2 = loop_grouping(c, t, s, b, pairs, 180, weights)
    assert_tensor(got["merged"], torch.tensor([i, j]), case=f"the most similar pair, weights {weights}")
    assert_tensor(got["colour"], c2, atol=1e-12, case="colour of the merged region: size-weighted mean, appended")
    assert_tensor(got["texture"], t2, atol=1e-12, case="texture of the merged region: size-weighted mean")
    assert_tensor(got["sizes"], s2, case="sizes: the sum appended")
    assert_tensor(got["boxes"], b2, case="boxes: the union box appended")
    assert_tensor(got["pairs"], p2, case="pairs without i, j in order, then (k, t) by increasing k")
    assert_tensor(got["similarity"], sim2, atol=1e-12, case="weighted similarities of the new pairs")


@pytest.mark.task("proposals")
def test_grouping_step_tie_takes_the_first_pair(student):
    # three identical regions side by side: all pairs tie except fill; weights on colour only -> the first pair
    colour = torch.full((3, 75), 1.0 / 75, dtype=torch.float64)
    texture = torch.full((3, 24), 1.0 / 24, dtype=torch.float64)
    sizes = torch.tensor([4, 4, 4])
    boxes = torch.tensor([[0.0, 0, 2, 2], [2.0, 0, 4, 2], [4.0, 0, 6, 2]], dtype=torch.float64)
    pairs = torch.tensor([[1, 2], [0, 1]])
    got = student.grouping_step(colour, texture, sizes, boxes, pairs, 12, weights=(1.0, 0.0, 0.0, 0.0))
    assert_tensor(got["merged"], torch.tensor([1, 2]), case="a tie: the first pair in `pairs` order")
    assert_tensor(got["pairs"], torch.tensor([[0, 3]]), case="region 0 now neighbours the new region 3")


@pytest.mark.task("proposals")
def test_grouping_step_rejects_no_pairs(student):
    z = torch.zeros(1, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="pair"):
        student.grouping_step(z, z, torch.ones(1), torch.zeros(1, 4), torch.zeros(0, 2, dtype=torch.int64), 10)


@pytest.mark.task("proposals")
def test_proposals_reject_malformed_labels_and_images(student):
    # float labels: the docstring says ValueError, the README's rule for dtypes TypeError
    with pytest.raises((ValueError, TypeError), match="labels|int64"):
        student.region_neighbours(torch.zeros(2, 2))
    # no pixel: no region and so no pair, or refused; the spec pins neither
    assert_refused_or_same(lambda: student.region_neighbours(torch.zeros(0, 3, dtype=torch.int64)),
                           lambda: torch.zeros(0, 2, dtype=torch.int64), name="labels|pixel|empty", exc=ValueError,
                           case="an empty label map has no pair")
    with pytest.raises(ValueError, match="labels|>= 0"):
        student.region_neighbours(torch.tensor([[0, -1], [1, 0]]))
    with pytest.raises(TypeError, match="image|float32 or float64"):
        student.region_descriptors(torch.zeros(3, 2, 2, dtype=torch.uint8), torch.zeros(2, 2, dtype=torch.int64))
    z = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="pairs"):
        student.region_similarity(z, z, torch.ones(2), torch.zeros(2, 4), torch.tensor([[0.0, 1.0]]), 10)
    with pytest.raises(ValueError, match="weights"):
        student.grouping_step(z, z, torch.ones(2), torch.zeros(2, 4), torch.tensor([[0, 1]]), 10,
                              weights=(1.0, 1.0, 1.0))
