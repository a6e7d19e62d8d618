"""Inputs for the detectors speed check (trusted side): one batch for ``predict``.

Not secret (the images come from a public seed); the held-out images of the accuracy check are
not reused here.
"""

import cv3data

BATCH_SIZE = 8


def predict_case(device="cpu"):
    """``(args, kwargs)`` for ``predict(images)``: 8 float32 images in [0, 1] on ``device``."""
    scenes = cv3data.detection_splits(12345, num_train=0, num_val=0, num_test=BATCH_SIZE)["test"]
    images = [s["image"].float().div(255.0).to(device) for s in scenes]
    return ([images], {})
