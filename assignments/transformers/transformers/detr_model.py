"""A tiny DETR built from your parts, for the DETR accuracy check (given code: nothing to write
here).

:class:`TinyDETR` is a small CNN backbone (stride 8), 2-D sine-cosine position embeddings, an
encoder of your pre-norm :class:`EncoderBlock` s, a decoder of :class:`DecoderBlock` s (self-
and cross-attention with your :class:`MultiHeadAttention`) and DETR's class and box heads. The
grader trained it on synthetic scenes (``reference/transformers/detr_probe.py``), hands you the
weights through :func:`load_detector`, then calls :func:`detect` on held-out scenes: the boxes
come from your attention, your multi-head attention, your encoder block and your
:func:`detr_postprocess`, and are scored by COCO mAP@0.5 on the trusted side. With all of them
as specified, your mAP equals the reference's; a wrong scale, softmax axis, head split or
post-processing lowers it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .attention import MultiHeadAttention
from .detr import detr_postprocess
from .vit import EncoderBlock

__all__ = ["DETR_CONFIG", "DecoderBlock", "TinyDETR", "load_detector", "detect"]

#: the configuration of the trained detector handed to :func:`load_detector`
DETR_CONFIG = {"num_classes": 3, "num_queries": 12, "hidden_dim": 64, "num_heads": 4, "mlp_dim": 128,
               "num_encoder_layers": 2, "num_decoder_layers": 3, "image_size": 64}


class DecoderBlock(nn.Module):
    """A pre-norm decoder block (given): ``x = x + SelfAttn(LN_1(x))``,
    ``x = x + CrossAttn(LN_2(x), memory)``, ``x = x + MLP(LN_3(x))``, both attentions your
    :class:`MultiHeadAttention` (``batch_first=True``)."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = MultiHeadAttention(hidden_dim, num_heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.cross_attention = MultiHeadAttention(hidden_dim, num_heads, batch_first=True)
        self.ln_3 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(hidden_dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, hidden_dim))

    def forward(self, x: Tensor, memory: Tensor) -> Tensor:
        """``x [N, Q, D]`` (queries), ``memory [N, S, D]`` (the encoder's tokens) -> ``[N, Q, D]``."""
        y = self.ln_1(x)
        x = x + self.self_attention(y, y, y, need_weights=False)[0]
        y = self.ln_2(x)
        x = x + self.cross_attention(y, memory, memory, need_weights=False)[0]
        return x + self.mlp(self.ln_3(x))


def _conv(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class TinyDETR(nn.Module):
    """A small DETR (given; build it with ``TinyDETR(**DETR_CONFIG)``).

    ``forward(images [N, 3, S, S] in [0, 1])`` returns one ``(logits [N, Q, K + 1], boxes
    [N, Q, 4])`` pair per decoder layer (the last one is the prediction, the others feed the
    auxiliary losses); boxes are normalised (cx, cy, w, h) in [0, 1]. The position embeddings
    (buffer ``pos``, ``[1, (S/8)^2, D]``) are stored in the state dict.
    """

    def __init__(self, num_classes: int, num_queries: int, hidden_dim: int, num_heads: int, mlp_dim: int,
                 num_encoder_layers: int, num_decoder_layers: int, image_size: int) -> None:
        super().__init__()
        d = hidden_dim
        self.image_size = image_size
        self.backbone = nn.Sequential(_conv(3, 32, 2), _conv(32, 32, 1), _conv(32, 64, 2), _conv(64, d, 2))
        self.register_buffer("pos", torch.zeros(1, (image_size // 8) ** 2, d))
        self.encoder = nn.Sequential(*(EncoderBlock(num_heads, d, mlp_dim) for _ in range(num_encoder_layers)))
        self.encoder_norm = nn.LayerNorm(d, eps=1e-6)
        self.query_embed = nn.Parameter(torch.zeros(1, num_queries, d))
        self.decoder = nn.ModuleList(DecoderBlock(num_heads, d, mlp_dim) for _ in range(num_decoder_layers))
        self.decoder_norm = nn.LayerNorm(d, eps=1e-6)
        self.class_head = nn.Linear(d, num_classes + 1)
        self.box_head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 4))

    def forward(self, images: Tensor) -> list[tuple[Tensor, Tensor]]:
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, self.image_size, self.image_size):
            raise ValueError(f"images must be [N, 3, {self.image_size}, {self.image_size}], got {list(images.shape)}")
        f = self.backbone((images - 0.4) / 0.25)  # [N, D, S/8, S/8]
        memory = self.encoder(f.flatten(2).transpose(1, 2) + self.pos)  # [N, T, D]
        memory = self.encoder_norm(memory)
        x = self.query_embed.expand(images.shape[0], -1, -1)  # [N, Q, D]
        outputs = []
        for block in self.decoder:
            x = block(x, memory)
            y = self.decoder_norm(x)
            outputs.append((self.class_head(y), self.box_head(y).sigmoid()))
        return outputs

    def load_weights(self, state_dict: dict[str, Tensor]) -> None:
        """Load a state dict of this module (strict; float16 tensors are converted to float32)."""
        self.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()},
                             strict=True)


_DETECTOR: dict[str, TinyDETR] = {}


def load_detector(state_dict: dict[str, Tensor]) -> None:
    """Build ``TinyDETR(**DETR_CONFIG)``, load the trained weights into it and keep it (in
    memory, eval mode) for :func:`detect`. Called by the grader (as the check's training step).

    Raises:
        RuntimeError: if the weights do not fit the module (a missing or unexpected key, or a
            shape that differs).
    """
    model = TinyDETR(**DETR_CONFIG)
    model.load_weights(state_dict)
    _DETECTOR["model"] = model.eval()


def detect(images: Tensor) -> dict[str, Tensor]:
    """Detect objects with the model :func:`load_detector` loaded, through your
    :func:`detr_postprocess` (no NMS: one detection per query).

    Args:
        images (Tensor[N, 3, 64, 64]): float32 in [0, 1].

    Returns:
        dict: ``scores`` float32 ``[N, Q]``, ``labels`` int64 ``[N, Q]`` (0-based classes),
        ``boxes`` float32 ``[N, Q, 4]`` (x1, y1, x2, y2) in pixels.

    Raises:
        RuntimeError: if :func:`load_detector` has not been called.
    """
    model = _DETECTOR.get("model")
    if model is None:
        raise RuntimeError("detect: call load_detector(state_dict) first")
    with torch.no_grad():
        logits, boxes = model(images)[-1]
        sizes = torch.tensor([[images.shape[-2], images.shape[-1]]] * images.shape[0])
        results = detr_postprocess(logits, boxes, sizes)
    return {"scores": torch.stack([r["scores"] for r in results]).float(),
            "labels": torch.stack([r["labels"] for r in results]).long(),
            "boxes": torch.stack([r["boxes"] for r in results]).float()}
