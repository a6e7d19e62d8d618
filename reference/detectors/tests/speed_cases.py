"""Inputs for the detectors speed check (trusted side): one batch for ``predict``.

Not secret (the images come from a public seed); the held-out images of the accuracy check are
not reused here. ``variant`` picks another public seed (variant 0 is the original batch): the
grader gives every timed call its own batch, so a submission that memoises its input gains nothing.
"""

import cv3data

BATCH_SIZE = 8
SEED = 12345
VARIANT_STRIDE = 1_000_003  # seeds of variants 1, 2, ... (far from the training seeds 0, 1, ...)


def predict_case(device="cpu", variant=0):
    """``(args, kwargs)`` for ``predict(images)``: 8 float32 images in [0, 1] on ``device``, another
    batch per ``variant``."""
    if type(variant) is not int or variant < 0:
        raise ValueError(f"variant must be an int >= 0, got {variant!r}")
    seed = SEED + VARIANT_STRIDE * variant
    scenes = cv3data.detection_splits(seed, num_train=0, num_val=0, num_test=BATCH_SIZE)["test"]
    images = [s["image"].float().div(255.0).to(device) for s in scenes]
    return ([images], {})
