"""`train --engine ray`: stage 2 (fine-tuning the CNN on the cached activations) as a Ray Train TorchTrainer:
N data-parallel workers (DDP; gloo on CPU, NCCL on GPU), each training on its share of every batch, so the
global batch, the learning rates and the early stopping are those of the single-process run. The frozen-feature
cache is built on the cluster with Ray Data (features_ray.py), once: WORK_DIR/cache keeps it for later runs."""
from __future__ import annotations

import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional


def ray_stage2(address: Optional[str], workers: int, storage: Optional[str] = None, quiet: bool = True) -> Callable:
    """A stage-2 runner for celebface.training.train.train(stage2=...) that trains on `workers` Ray workers.

    :param address: the Ray cluster ("auto", HOST:PORT, or None for a private one-machine Ray)
    :param workers: data-parallel training workers (1 CPU each, or 1 GPU each when training on CUDA)
    :param storage: where Ray Train keeps its checkpoint: a folder every node sees, or a pyarrow URI
    """
    from .ray_engine import connect

    connect(address, quiet)

    def run(feats, data, opts, device: str, progress: bool):
        return _train_stage2(feats, data, opts, device, workers, storage)

    return run


def _train_stage2(feats, data, opts, device: str, workers: int, storage: Optional[str]):
    import ray
    import torch
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from ..training.train import stage2_report, stage2_setup

    t0 = time.time()
    net, acts, cfg = stage2_setup(feats, data, opts, device, progress=False)
    config = {"net": ray.put(net.cpu()), "train": ray.put(acts["train"]), "val": ray.put(acts["val"]),
              "cfg": replace(cfg, device="cpu"), "opts": opts}
    storage = storage or tempfile.mkdtemp(prefix="celebface-ray-train-")
    trainer = TorchTrainer(_worker_loop, train_loop_config=config,
                           scaling_config=ScalingConfig(num_workers=workers, use_gpu=device == "cuda"),
                           run_config=RunConfig(name=f"stage2-{int(time.time())}", storage_path=storage))
    result = trainer.fit()
    with result.checkpoint.as_directory() as d:
        net.load_state_dict(torch.load(Path(d) / "net.pt", weights_only=True))
        history = json.loads((Path(d) / "history.json").read_text())
    net = net.to(device)
    rep = stage2_report(net, acts, history, opts, device, t0)
    rep["ray_workers"] = workers
    return rep, net.head


def _worker_loop(config: dict) -> None:
    """One Ray Train worker: its replica of the network wrapped in DDP, its share of each batch."""
    import ray
    import ray.train
    import torch
    from ray.train.torch import get_device, prepare_model

    from ..training.loop import fit
    from ..training.train import stage2_groups

    ctx = ray.train.get_context()
    net, train, val = (ray.get(config[k]) if isinstance(config[k], ray.ObjectRef) else config[k]
                       for k in ("net", "train", "val"))
    groups = stage2_groups(net, config["opts"])
    tunable = {id(p) for g in groups for p in g["params"]}
    for p in net.parameters():
        p.requires_grad_(id(p) in tunable)  # the frozen stages are not in the forward pass: DDP must skip them
    dev = get_device()
    model = prepare_model(net)
    cfg = replace(config["cfg"], device=str(dev), rank=ctx.get_world_rank(), world=ctx.get_world_size())
    history = fit(model, train, val, groups, cfg)
    metrics = {"val_loss": min(h["val_loss"] for h in history), "epochs": len(history)}
    if ctx.get_world_rank() == 0:
        with tempfile.TemporaryDirectory() as d:
            torch.save(net.state_dict(), Path(d) / "net.pt")
            (Path(d) / "history.json").write_text(json.dumps(history))
            ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(d))
    else:
        ray.train.report(metrics)
