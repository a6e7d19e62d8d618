"""Face data and a small reference cascade shared by the classical hidden tests (trusted side)."""

import torch
import torch.nn.functional as F
from cv3data.faces import lfw_split, make_face_scenes


def faces_data():
    """The LFW split and two synthetic scenes with faces pasted in (seed 5)."""
    s = lfw_split()
    return s, make_face_scenes(s["train_faces"], s["train_nonfaces"], 2, seed=5)


def small_cascade(reference, s, stages):
    """``rects, signs, cascade``: two-rectangle features of 12 x 12 windows and a cascade with
    ``stages`` trained by the reference on the training faces and non-faces shrunk to that size."""
    rects, signs = reference.haar_feature_coords(12, 12, ["type-2-x", "type-2-y"])

    def shrink(x):
        return F.interpolate(x[:, None].double(), size=(12, 12), mode="bilinear", align_corners=False,
                             antialias=True)[:, 0]

    windows = reference.normalize_windows(torch.cat([shrink(s["train_faces"]), shrink(s["train_nonfaces"])]))
    feats = reference.haar_features(reference.integral_image(windows), rects, signs)
    labels = torch.cat([torch.ones(70), torch.zeros(70)]).long()
    return rects, signs, reference.train_cascade(feats, labels, stages, 0.99)
