"""Ray, when asked for (`--engine ray`): connecting to a cluster and running a per-item function as a Ray Data
actor pool (one model per actor, loaded once; batches; Ray's streaming executor gives the backpressure)."""
from __future__ import annotations

import os
from typing import Any, Iterator, Optional

from ..errors import ConfigError

# Actor calls (batches) in one Ray Data block at most. A block is one actor task whose results come back when it
# ends: small blocks stream results to the driver steadily and leave no node idle at the end while another
# finishes a long block; 8 calls of a few photos each is a few seconds of work on one CPU.
BLOCK_CALLS = 8


def require_ray():
    """The ray module, or a ConfigError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray: install celebface[ray] "
                          "(pip install 'celebface[ray]'), or use --engine local") from exc
    return ray


def connect(address: Optional[str] = None, quiet: bool = True):
    """Join the Ray cluster at `address` ("auto": the one started on this machine with `ray start`; HOST:PORT;
    None: a private one-machine Ray). Returns the ray module."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    from ..runtime import thread_env

    # Ray's workers wait passively too (runtime.py's thread policy), whatever the nodes' own environment.
    kwargs: dict[str, Any] = {"log_to_driver": not quiet, "configure_logging": not quiet,
                              "runtime_env": {"env_vars": thread_env()}}
    host = (address or "").split(":")[0]
    if host in ("127.0.0.1", "localhost"):
        kwargs["_node_ip_address"] = "127.0.0.1"  # a cluster started with --node-ip-address 127.0.0.1
    try:
        ray.init(address=address, **kwargs)
    except ConnectionError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {exc}; start it with `ray start --head` "
                          f"and give its address (HOST:PORT) or 'auto'") from exc
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = not quiet
    if quiet:
        import logging

        logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


def cluster_cpus() -> int:
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", os.cpu_count() or 1)))


def actor_map(items: list[dict], cls: type, init_kwargs: dict, batch_size: int, workers: Optional[int],
              batch_format: str = "pyarrow") -> Iterator:
    """Run `cls(**init_kwargs)(batch)` over `items` on a pool of `workers` actors (1 CPU each);
    yields the output batches as they come. Actors that die with their node are restarted and their tasks
    retried by Ray; callers drop repeats by key."""
    import ray

    if not items:
        return
    workers = workers or cluster_cpus()
    blocks = min(len(items), max(4 * workers, -(-len(items) // (BLOCK_CALLS * batch_size))))
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    ds = ds.map_batches(cls, fn_constructor_kwargs=init_kwargs, batch_size=batch_size, batch_format=batch_format,
                        compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1)
    # Ray Data restarts dead actors and retries their tasks by default (max_restarts=-1, max_task_retries=-1).
    yield from ds.iter_batches(batch_size=None, batch_format=batch_format)
