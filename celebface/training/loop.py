"""The training loop, in torchvision's reference shape: `train_one_epoch`, `evaluate`, and `fit` around them
(AdamW, ReduceLROnPlateau on validation loss, early stopping that restores the best weights)."""
from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from ..runtime import autocast


@dataclass(frozen=True)
class FitConfig:
    """How one `fit` runs; every field has the meaning of the CLI option of the same name."""

    epochs: int
    lr: float = 1e-3
    patience: int = 5
    batch_size: int = 64
    seed: int = 0
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    cutmix: float = 0.0  # share of training batches with CutMix (4-D inputs only: feature maps, images)
    distill: float = 0.0  # weight of the embedding loss (1 - cosine) where the training split has targets `t`
    lr_patience: Optional[int] = None  # epochs without improvement before the LR is cut (None: patience // 2)
    schedule: str = "plateau"  # "plateau": cut by 0.3 when val loss stalls; "cosine": anneal to 0 over `epochs`
    desc: str = "train"
    progress: bool = False
    device: str = "cpu"
    precision: str = "fp32"
    rank: int = 0  # with several data-parallel workers (DDP): this worker's rank and their number; each
    world: int = 1  # worker trains on its share of every batch, so the global batch stays batch_size


@dataclass(frozen=True)
class Split:
    """Inputs and labels of one split; `t`: optional per-sample embedding targets (`FitConfig.distill`)."""

    X: torch.Tensor
    y: torch.Tensor
    t: Optional[torch.Tensor] = None


def plateau_patience(patience: int) -> int:
    """Epochs without a lower validation loss before the learning rate is cut: half the early-stopping patience."""
    return max(1, patience // 2)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def predict_logits(net: Callable, X: torch.Tensor, batch_size: int = 256, device: str = "cpu",
                   precision: str = "fp32") -> torch.Tensor:
    """The network's outputs for X, in batches, as float32 on the CPU."""
    out = []
    for i in range(0, len(X), batch_size):
        with autocast(device, precision):
            out.append(net(X[i:i + batch_size].to(device)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


def train_one_epoch(net: nn.Module, opt: torch.optim.Optimizer, loss_fn: nn.Module, data: Split,
                    cfg: FitConfig, gen: torch.Generator, epoch: int) -> tuple[float, float]:
    """One pass over the shuffled training data; returns (mean loss, accuracy)."""
    from ..runtime import progress_bar

    net.train()
    perm = torch.randperm(len(data.X), generator=gen)
    tot_loss, tot_ok, seen = 0.0, 0, 0
    bar = progress_bar(range(0, len(perm), cfg.batch_size), desc=f"{cfg.desc} epoch {epoch}", leave=False,
               disable=not cfg.progress, dynamic_ncols=True, unit="batch")
    for i in bar:
        idx = perm[i:i + cfg.batch_size]
        if len(idx) < 2 * cfg.world:  # BatchNorm needs two samples (on every worker)
            continue
        idx = idx[cfg.rank::cfg.world]
        xb, yb = data.X[idx].to(cfg.device), data.y[idx].to(cfg.device)
        y_box, keep = yb, 1.0
        if cfg.cutmix > 0 and xb.dim() == 4 and float(torch.rand(1, generator=gen)) < cfg.cutmix:
            xb, y_box, keep = cutmix(xb, yb, gen)
        tb = data.t[idx].to(cfg.device) if cfg.distill > 0 and data.t is not None else None
        with autocast(cfg.device, cfg.precision):
            logits, emb = net(xb, with_embedding=True) if tb is not None else (net(xb), None)
        loss = loss_fn(logits.float(), yb)
        if keep < 1.0:  # the pasted box's share of the loss goes to the label it came from
            loss = keep * loss + (1 - keep) * loss_fn(logits.float(), y_box)
        if emb is not None:  # on a CutMix batch, only the part of each sample left as it was has a target
            loss = loss + cfg.distill * keep * embedding_loss(emb, tb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tot_loss += float(loss.detach()) * len(idx)
        tot_ok += int((logits.argmax(1) == yb).sum())
        seen += len(idx)
        bar.set_postfix(loss=f"{tot_loss / seen:.3f}", acc=f"{tot_ok / seen:.3f}")
    return tot_loss / max(seen, 1), tot_ok / max(seen, 1)


def embedding_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cosine distance between predicted and target embeddings (0 when they point the same way)."""
    return (1.0 - nn.functional.cosine_similarity(pred.float(), target.float(), dim=1)).mean()


def cutmix(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """CutMix (Yun et al. 2019) on a batch of maps (N, C, H, W): a box of a random share of the area, taken from
    another sample of the batch, is pasted into each sample.

    :returns: the mixed batch, the labels of the pasted boxes, and the share of each map left as it was (the
        weight of the original labels in the loss)
    """
    n, _, h, w = x.shape
    perm = torch.randperm(n, generator=gen).to(x.device)
    side = math.sqrt(1.0 - float(torch.rand(1, generator=gen)))  # the box's area share is uniform in [0, 1)
    bh, bw = int(round(h * side)), int(round(w * side))
    top = int(torch.randint(0, h - bh + 1, (1,), generator=gen))
    left = int(torch.randint(0, w - bw + 1, (1,), generator=gen))
    out = x.clone()
    out[:, :, top:top + bh, left:left + bw] = x[perm, :, top:top + bh, left:left + bw]
    return out, y[perm], 1.0 - (bh * bw) / (h * w)


def evaluate(net: nn.Module, data: Split, cfg: FitConfig) -> tuple[float, float]:
    """(loss, accuracy) of the network in eval mode on one split."""
    net.eval()
    logits = predict_logits(net, data.X, device=cfg.device, precision=cfg.precision)
    return float(nn.functional.cross_entropy(logits, data.y)), float((logits.argmax(1) == data.y).float().mean())


def fit(net: nn.Module, train: Split, val: Split, param_groups: list[dict], cfg: FitConfig) -> list[dict]:
    """Train `net` in place; returns the per-epoch history. The best weights (lowest val loss) are restored."""
    from tqdm import tqdm

    opt = torch.optim.AdamW(param_groups, weight_decay=cfg.weight_decay)
    sched = make_scheduler(opt, cfg)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    gen = torch.Generator().manual_seed(cfg.seed)
    best_loss, best_state, bad, history = math.inf, copy.deepcopy(net.state_dict()), 0, []
    for epoch in range(1, cfg.epochs + 1):
        loss, acc = train_one_epoch(net, opt, loss_fn, train, cfg, gen, epoch)
        val_loss, val_acc = evaluate(net, val, cfg)
        if cfg.world > 1:  # every worker takes the same early-stopping and learning-rate decisions
            val_loss = _mean_over_workers(val_loss)
        history.append({"epoch": epoch, "train_loss": loss, "train_acc": acc, "val_loss": val_loss,
                        "val_acc": val_acc, "lr": opt.param_groups[0]["lr"]})
        if cfg.progress:
            tqdm.write(f"{cfg.desc} epoch {epoch}: loss {loss:.4f} acc {acc:.4f} | val loss {val_loss:.4f} "
                       f"val acc {val_acc:.4f}")
        if cfg.schedule == "plateau":
            sched.step(val_loss)
        else:
            sched.step()
        if val_loss < best_loss - 1e-4:
            best_loss, best_state, bad = val_loss, copy.deepcopy(net.state_dict()), 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return history


def make_scheduler(opt: torch.optim.Optimizer, cfg: FitConfig):
    """The learning-rate schedule `fit` steps once an epoch (see FitConfig.schedule)."""
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.schedule != "plateau":
        raise ValueError(f"unknown schedule {cfg.schedule!r}: use 'plateau' or 'cosine'")
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.3,
                                                      patience=cfg.lr_patience or plateau_patience(cfg.patience))


def _mean_over_workers(x: float) -> float:
    import torch.distributed as dist

    t = torch.tensor([x], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item() / dist.get_world_size())
