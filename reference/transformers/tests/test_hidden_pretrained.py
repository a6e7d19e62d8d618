"""Hidden tests of the given pipelines that the pretrained accuracy checks run [classifier, detr]:
the grader's trained weights copied into the student's modules reproduce a trusted forward pass.

Oracles: torchvision's ``VisionTransformer`` (conv_proj with one input channel) for the ViT;
for the DETR, torchvision's ``EncoderBlock`` and ``nn.MultiheadAttention`` decoder layers
assembled here, and DETR's post-processing written in float64.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vision_transformer import EncoderBlock, VisionTransformer

from accuracy_cases import pretrained_weights, split, validate
from detr_cases import detr_holdout, detr_weights, validate_detections
from harness.testkit import assert_tensor

VIT = {"image_size": 16, "patch_size": 4, "num_layers": 3, "num_heads": 4, "hidden_dim": 64, "mlp_dim": 128,
       "num_classes": 10}


def vit_oracle(state):
    ref = VisionTransformer(**VIT)
    ref.conv_proj = nn.Conv2d(1, 64, 4, 4)
    ref.load_state_dict(state, strict=True)
    return ref.eval()


@pytest.mark.task("classifier")
def test_load_pretrained_then_predict_matches_torchvision(student):
    state = pretrained_weights()[0][0]
    ref = vit_oracle(state)
    _, _, xte, _ = split()
    x = xte[:40]
    student.load_pretrained(state)
    logits, maps = validate([student.predict(x)], 40)
    with torch.no_grad():
        expected = ref(x).double()
        tokens = torch.cat([ref.class_token.expand(40, -1, -1), ref._process_input(x)], 1) + ref.encoder.pos_embedding
        layers = list(ref.encoder.layers)
        for block in layers[:-1]:
            tokens = block(tokens)
        y = layers[-1].ln_1(tokens)
        _, w = layers[-1].self_attention(y, y, y, need_weights=True, average_attn_weights=True)
    assert_tensor(logits, expected, atol=2e-4, rtol=1e-4, case="trained ViT logits")
    assert_tensor(maps, w[:, 0, 1:].reshape(40, 4, 4).double(), atol=1e-5, rtol=1e-4, case="class attention")
    # weights that do not fit are rejected (checked beside the informative call above: load_pretrained
    # itself returns None)
    state = dict(state)
    state.pop("heads.head.bias")
    with pytest.raises(RuntimeError, match="heads.head.bias"):
        student.load_pretrained(state)


# ----------------------------------------------------------------------------------- DETR
class OracleDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2, self.ln_3 = (nn.LayerNorm(64, eps=1e-6) for _ in range(3))
        self.self_attention = nn.MultiheadAttention(64, 4, batch_first=True)
        self.cross_attention = nn.MultiheadAttention(64, 4, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 64))

    def forward(self, x, mem):
        y = self.ln_1(x)
        x = x + self.self_attention(y, y, y, need_weights=False)[0]
        y = self.ln_2(x)
        x = x + self.cross_attention(y, mem, mem, need_weights=False)[0]
        return x + self.mlp(self.ln_3(x))


class OracleDETR(nn.Module):
    def __init__(self):
        super().__init__()

        def conv(i, o, s):
            return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
        self.backbone = nn.Sequential(conv(3, 32, 2), conv(32, 32, 1), conv(32, 64, 2), conv(64, 64, 2))
        self.register_buffer("pos", torch.zeros(1, 64, 64))
        self.encoder = nn.Sequential(*(EncoderBlock(4, 64, 128, 0.0, 0.0) for _ in range(2)))
        self.encoder_norm = nn.LayerNorm(64, eps=1e-6)
        self.query_embed = nn.Parameter(torch.zeros(1, 12, 64))
        self.decoder = nn.ModuleList(OracleDecoder() for _ in range(3))
        self.decoder_norm = nn.LayerNorm(64, eps=1e-6)
        self.class_head = nn.Linear(64, 4)
        self.box_head = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))

    def forward(self, images):
        f = self.backbone((images - 0.4) / 0.25).flatten(2).transpose(1, 2)
        mem = self.encoder_norm(self.encoder(f + self.pos))
        x = self.query_embed.expand(images.shape[0], -1, -1)
        for block in self.decoder:
            x = block(x, mem)
        y = self.decoder_norm(x)
        return self.class_head(y), self.box_head(y).sigmoid()


@pytest.mark.task("detr")
def test_load_detector_then_detect_matches_an_oracle_detr(student):
    state = detr_weights()[0][0]
    ref = OracleDETR()
    ref.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    ref.eval()
    calls, _ = detr_holdout(seed=5)
    x = calls[0][0][0][:16]
    student.load_detector(state)
    out = validate_detections([student.detect(x)], 16)
    with torch.no_grad():
        logits, boxes = ref(x)
    prob = F.softmax(logits.double(), -1)[..., :-1]  # [16, 12, 3]
    scores, labels = prob.max(-1)
    cx, cy, w, h = boxes.double().unbind(-1)
    xyxy = torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), -1) * 64
    got_scores = torch.stack([o["scores"] for o in out]).double()
    got_labels = torch.stack([o["labels"] for o in out])
    got_boxes = torch.stack([o["boxes"] for o in out]).double()
    assert_tensor(got_scores, scores, atol=2e-4, rtol=1e-3, case="DETR scores")
    assert_tensor(got_boxes, xyxy, atol=5e-3, rtol=1e-3, case="DETR boxes (pixels)")
    top2 = prob.topk(2, -1).values
    clear = (top2[..., 0] - top2[..., 1]) > 1e-3
    assert bool((got_labels[clear] == labels[clear]).all()), "DETR labels differ from the oracle's"
    # images of the wrong size and weights that do not fit are rejected (beside the informative call above)
    with pytest.raises(ValueError, match="images"):
        student.detect(torch.zeros(1, 3, 32, 32))
    state = dict(state)
    state["query_embed"] = torch.zeros(1, 7, 64)
    with pytest.raises(RuntimeError, match="query_embed"):
        student.load_detector(state)
