"""Networks of the learned path: a timm Vision Transformer encoder for grayscale radiographs,
its masked-autoencoder (MAE, He et al. 2022) pre-training wrapper, and the 3-class classifier.

Checkpoints are plain dicts of tensors and primitives (loadable with ``weights_only=True``):
``{"kind": "mae-encoder" | "shoulder-classifier", "config": {...}, "state_dict": {...}, ...}``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from timm.models.vision_transformer import Block, VisionTransformer
from torch import nn

LABELS: tuple[str, ...] = ("normal", "osteopenia", "osteoporosis")
MEAN, STD = 0.5, 0.25


@dataclass(frozen=True)
class EncoderConfig:
    """Size of the ViT encoder (defaults: a ViT-Tiny-like encoder at 128 px for CPU training)."""

    img_size: int = 128
    patch_size: int = 16
    embed_dim: int = 192
    depth: int = 6
    num_heads: int = 3
    decoder_dim: int = 128
    decoder_depth: int = 2
    decoder_heads: int = 4

    @property
    def grid(self) -> int:
        return self.img_size // self.patch_size

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def build_encoder(cfg: EncoderConfig) -> VisionTransformer:
    """A timm ViT for 1-channel input, average-pooled patch tokens, no head."""
    return VisionTransformer(
        img_size=cfg.img_size, patch_size=cfg.patch_size, in_chans=1, num_classes=0,
        global_pool="avg", embed_dim=cfg.embed_dim, depth=cfg.depth, num_heads=cfg.num_heads,
        class_token=True, no_embed_class=True,
    )


def _sincos_2d(dim: int, grid: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embedding, shape (1, grid*grid, dim)."""
    coords = torch.arange(grid, dtype=torch.float32)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / max(quarter, 1)))
    out = []
    for pos in (yy.reshape(-1), xx.reshape(-1)):
        ang = pos[:, None] * omega[None, :]
        out += [torch.sin(ang), torch.cos(ang)]
    emb = torch.cat(out, dim=1)
    if emb.shape[1] < dim:
        emb = torch.cat([emb, torch.zeros(emb.shape[0], dim - emb.shape[1])], dim=1)
    return emb[None]


class MaskedAutoencoder(nn.Module):
    """MAE: encode a random 25% of patches, reconstruct the pixels of the hidden ones."""

    def __init__(self, cfg: EncoderConfig, mask_ratio: float = 0.75) -> None:
        super().__init__()
        self.cfg = cfg
        self.mask_ratio = mask_ratio
        self.encoder = build_encoder(cfg)
        n = cfg.grid * cfg.grid
        self.dec_embed = nn.Linear(cfg.embed_dim, cfg.decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.decoder_dim))
        self.register_buffer("dec_pos", _sincos_2d(cfg.decoder_dim, cfg.grid), persistent=False)
        self.dec_blocks = nn.Sequential(*[Block(cfg.decoder_dim, cfg.decoder_heads) for _ in range(cfg.decoder_depth)])
        self.dec_norm = nn.LayerNorm(cfg.decoder_dim)
        self.dec_pred = nn.Linear(cfg.decoder_dim, cfg.patch_size * cfg.patch_size)
        nn.init.normal_(self.mask_token, std=0.02)
        self.n_patches = n

    def patchify(self, img: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B, N, p*p)."""
        p = self.cfg.patch_size
        b, _, h, w = img.shape
        x = img.reshape(b, 1, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, (h // p) * (w // p), p * p)

    def forward(self, img: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (loss, predicted patches). Loss: MSE on hidden patches, each patch normalised."""
        enc = self.encoder
        b = img.shape[0]
        x = enc.patch_embed(img) + enc.pos_embed
        n_keep = max(1, int(round(self.n_patches * (1.0 - self.mask_ratio))))
        noise = torch.rand(b, self.n_patches, generator=generator, device=img.device)
        order = noise.argsort(dim=1)
        restore = order.argsort(dim=1)
        keep = order[:, :n_keep]
        x = torch.gather(x, 1, keep[..., None].expand(-1, -1, x.shape[-1]))
        cls = enc.cls_token.expand(b, -1, -1)
        x = enc.norm(enc.blocks(torch.cat([cls, x], dim=1)))
        y = self.dec_embed(x[:, 1:])
        masks = self.mask_token.expand(b, self.n_patches - n_keep, -1)
        y = torch.cat([y, masks], dim=1)
        y = torch.gather(y, 1, restore[..., None].expand(-1, -1, y.shape[-1])) + self.dec_pos
        pred = self.dec_pred(self.dec_norm(self.dec_blocks(y)))
        target = self.patchify(img)
        mu, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
        target = (target - mu) / (var + 1e-6).sqrt()
        hidden = torch.ones(b, self.n_patches, device=img.device)
        hidden[:, :n_keep] = 0
        hidden = torch.gather(hidden, 1, restore)
        loss = (((pred - target) ** 2).mean(-1) * hidden).sum() / hidden.sum()
        return loss, pred


class ShoulderClassifier(nn.Module):
    """Encoder + linear head over the average-pooled patch tokens -> logits for :data:`LABELS`."""

    def __init__(self, cfg: EncoderConfig, n_classes: int = len(LABELS)) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = build_encoder(cfg)
        self.head = nn.Linear(cfg.embed_dim, n_classes)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(img))


def vit_reshape_transform(cfg: EncoderConfig):  # noqa: ANN201 (callable for pytorch-grad-cam)
    """Turn ViT tokens (B, 1+N, D) into a (B, D, g, g) map for Grad-CAM."""

    def transform(tokens: torch.Tensor) -> torch.Tensor:
        x = tokens[:, 1:, :]
        b, n, d = x.shape
        g = cfg.grid
        return x.reshape(b, g, g, d).permute(0, 3, 1, 2)

    return transform
