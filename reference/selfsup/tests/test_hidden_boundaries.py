"""Hidden tests of argument boundaries that the other test files left open (from
`cv3 check selfsup --mutants`): the smallest allowed values must work, the largest disallowed
must raise, and a crop may never be empty."""

import pytest
import torch


@pytest.mark.task("dino")
def test_teacher_temperature_negative_warmup_raises(student):
    with pytest.raises(ValueError, match="warmup_epochs"):
        student.teacher_temperature(0, -1)
    with pytest.raises(ValueError, match="warmup_epochs"):
        student.teacher_temperature(2, -5)
    assert student.teacher_temperature(0, 0, 0.02, 0.05) == pytest.approx(0.05)


@pytest.mark.task("dino")
def test_multi_crop_never_returns_an_empty_crop(student):
    # a 1% crop at aspect 20 is 9 x 0 pixels: rejected on every draw, so the central crop of
    # ratio 20 clamped to the image (20 x 1 on a 20 x 20 image) is used
    img = torch.rand(1, 20, 20, generator=torch.Generator().manual_seed(0))
    glob, _, boxes = student.multi_crop(img, 3, n_global=1, n_local=0, global_scale=(0.01, 0.01),
                                        ratio=(20.0, 20.0))
    assert boxes[0].tolist() == [0, 9, 20, 10]
    assert bool(torch.isfinite(glob).all())
    tall = student.multi_crop(img, 3, n_global=1, n_local=0, global_scale=(0.01, 0.01), ratio=(0.05, 0.05))[2]
    assert tall[0].tolist() == [9, 0, 10, 20]


@pytest.mark.task("pretext")
def test_two_tile_permutations(student):
    perms = student.hamming_permutations(2, 2)
    assert sorted(map(tuple, perms.tolist())) == [(0, 1), (1, 0)]
    with pytest.raises(ValueError, match="num_tiles"):
        student.hamming_permutations(1, 1)
    with pytest.raises(ValueError, match="num_tiles"):
        student.hamming_permutations(10, 2)


@pytest.mark.task("pretext")
def test_jigsaw_negative_label_raises_even_with_valid_maximum(student):
    perms = student.hamming_permutations(4, 3)
    images = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="labels"):
        student.jigsaw_tiles(images, torch.tensor([-1, 2]), perms, grid=2)
    with pytest.raises(ValueError, match="labels|permutations"):  # past P: either may be named
        student.jigsaw_tiles(images, torch.tensor([0, 3]), perms, grid=2)
