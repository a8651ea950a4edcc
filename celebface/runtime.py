"""Where and how torch runs: device, precision (bf16 autocast where the hardware is fast), threads.

Thread policy (measured in bench/threads.md and bench/speed.md): OpenMP threads that wait by spinning (libgomp's default,
OMP_WAIT_POLICY=ACTIVE) collapse as soon as another process takes a core. So every celebface process waits passively
(OMP_WAIT_POLICY=PASSIVE, set by `import celebface` before torch loads, inherited by every worker process and
passed to Ray's workers); one torch thread per core in a single process (CLI commands, one `serve` worker), one
thread per worker process and one worker per core in process pools. Overrides: a user-set OMP_WAIT_POLICY is
kept; CELEBFACE_THREADS (or --threads) sets torch's threads per process.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Iterator, Optional, TypeVar

from .config import PRECISIONS
from .errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
T, R = TypeVar("T"), TypeVar("R")


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when a GPU is there, else "cpu"; asking for cuda without one is a clear error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not (device == "cuda" or device.startswith("cuda:")):
        raise ConfigError(f"--device must be auto, cpu or cuda, not {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    return device


def bf16_is_fast(device: str) -> bool:
    """True where bf16 matrix work runs in hardware: CUDA GPUs that support it, CPUs with AVX512-BF16 or AMX."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def precision_warning(precision: Optional[str], device: str = "auto") -> Optional[str]:
    """What to tell a user who asks for bf16 where it has no hardware (a CPU without AVX512-BF16 or AMX, a GPU
    without bf16): there it is emulated and several times slower than fp32 (docs/how/speed.md); None otherwise.

    :param precision: the precision asked for ("auto", "fp32", "bf16"; None: nothing asked)
    :param device: where the networks run ("auto", "cpu", "cuda")"""
    if (precision or "").strip().lower() != "bf16":
        return None
    device = resolve_device(device)
    if bf16_is_fast(device):
        return None
    where = "this GPU has" if device.startswith("cuda") else "this CPU has no AVX512-BF16 or AMX, so it has"
    return (f"--precision bf16: {where} no bf16 units; bf16 is emulated here and several times slower than fp32 "
            "(docs/how/speed.md). Leave --precision at auto (fp32) on this machine.")


def resolve_precision(precision: str, device: str) -> str:
    """'auto' -> 'fp32'. bf16 autocast trains faster where bf16_is_fast, but a default must never cost accuracy and
    bf16 lost some on glint12 (`train --precision`'s help): it is used only when asked for (--precision bf16) until
    bench/accuracy.py shows it costs nothing."""
    if precision == "auto":
        return "fp32"
    return precision


def autocast(device: str, precision: str):
    """bf16 autocast when asked for (also where the hardware has no bf16: precision_warning tells the user so),
    else a no-op context."""
    import torch

    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                          enabled=precision == "bf16")


#: Environment variable: the precision the identity networks (dlib's ResNet, faceres) name faces in, "fp32" (the
#: default) or "bf16" (`--precision bf16`; worker processes and Ray's workers inherit it).
ENV_PRECISION = "CELEBFACE_PRECISION"


def identity_precision() -> str:
    """The identity networks' precision in force: CELEBFACE_PRECISION, "fp32" when unset or "auto"."""
    value = _checked_precision(os.environ.get(ENV_PRECISION, "").strip() or "auto", ENV_PRECISION)
    return "fp32" if value == "auto" else value


def _checked_precision(value: str, what: str) -> str:
    """The precision named by `value` (trimmed, lower case), one of config.PRECISIONS; ConfigError naming `what`
    (where the value came from) otherwise."""
    value = value.strip().lower()
    if value not in PRECISIONS:
        raise ConfigError(f"{what} must be one of {', '.join(PRECISIONS)}, not {value!r}")
    return value


def set_identity_precision(precision: Optional[str]) -> None:
    """Name faces in `precision` from now on, in this process and the worker processes it starts ("auto" = fp32:
    bf16 moves identity vectors a little and is used only when asked for, see docs/how/speed.md).

    :param precision: "auto", "fp32", "bf16", or None to keep what is in force"""
    if not precision:
        return
    _checked_precision(precision, f"{ENV_PRECISION} / --precision")
    os.environ[ENV_PRECISION] = precision


def identity_autocast(tensor: Any):
    """The context the identity networks run in on `tensor`'s device: bf16 autocast where CELEBFACE_PRECISION asks
    for it, else nothing changes.

    :param tensor: the network's input"""
    return autocast(str(tensor.device), identity_precision())


#: Environment variable: torch threads per celebface process (overrides the default; --threads overrides it).
ENV_THREADS = "CELEBFACE_THREADS"
#: The OpenMP settings every celebface process starts with, unless the user set them (see the module docstring).
OMP_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def thread_env() -> dict[str, str]:
    """Put OMP_ENV into this process's environment where the user has not set those variables (a user's value
    wins) and return what is now in force, with CELEBFACE_PRECISION where set (for Ray's workers). Takes effect only
    before torch (OpenMP) is loaded: `import celebface` calls it first thing; worker processes inherit the
    environment."""
    for key, value in OMP_ENV.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in (*OMP_ENV, ENV_PRECISION) if key in os.environ}


def env_threads() -> Optional[int]:
    """CELEBFACE_THREADS as a positive int (None when unset or not a positive whole number)."""
    value = os.environ.get(ENV_THREADS, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def threads_per_process(processes: int) -> int:
    """Torch threads for each of `processes` processes sharing this machine: the cores split between them, at
    least one (no more threads than cores in all, so none waits for another's core)."""
    return max(1, (os.cpu_count() or 1) // max(1, processes))


def ordered_thread_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """fn over items by `workers` threads at once, results in the items' order; at most 2 x workers items are taken
    ahead of the caller (a long folder is never all decoded at once). The torch threads in force (torch's
    intra-op threads of the calling thread) are shared out: each worker runs its ops on threads // workers of
    them, at least one, so the work uses as many cores as before, spread over items instead of inside each op
    (detection's many small ops gain little from a second thread: bench/speed.md).

    :param fn: what to compute for one item (must be safe to run in several threads at once)
    :param items: the inputs, read lazily
    :param workers: threads; 1 runs fn in the calling thread, as a plain loop"""
    if workers <= 1:
        yield from map(fn, items)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import torch

    threads = torch.get_num_threads()
    with ThreadPoolExecutor(workers, initializer=torch.set_num_threads,
                            initargs=(max(1, threads // workers),)) as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            torch.set_num_threads(threads)  # the workers' setting also became torch's default for new threads


def photo_workers() -> int:
    """Photos named at once by predict's loops, each photo's ops on one thread: one per torch thread in force
    (CELEBFACE_THREADS / --threads, else one per core); one, a plain loop, when one thread is asked for. On 2 cores,
    40 sports5 photos, one process (bench/at_once.md): 2, 3 and 4 at once within 2-5% of each other, 2 faster than 4
    in 5 of 6 paired quiet passes (more threads than cores mostly wait for the GIL), as fast beside a busy process."""
    import torch

    return max(1, torch.get_num_threads())


def set_threads(threads: Optional[int]) -> None:
    """Torch's intra-op threads: `threads`, else CELEBFACE_THREADS, else torch's default (one per core)."""
    threads = threads or env_threads()
    if threads:
        import torch

        torch.set_num_threads(threads)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (one per thread by default, each keeping freed memory): a threaded server
    then returns memory instead of growing run after run. Call before threads start; False off glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-8, arenas))  # M_ARENA_MAX
    except (OSError, AttributeError):
        return False


def release_memory() -> bool:
    """Give freed heap memory back to the operating system (glibc malloc_trim); False off glibc."""
    import ctypes
    import ctypes.util

    try:
        return bool(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def progress_bar(iterable: Any = None, **options: Any) -> Any:
    """A tqdm progress bar where its output is a terminal; elsewhere (`make demo > log`, a pipe) one line per stage,
    written when the stage ends, instead of hundreds of carriage-return updates (none for a bar with leave=False:
    such stages report themselves).

    :param iterable: what to iterate over, as for tqdm
    :param options: tqdm's options (desc, total, unit, disable, leave, file, ...)
    """
    import sys

    from tqdm import tqdm

    out = options.get("file") or sys.stderr
    if options.get("disable") or _is_terminal(out):
        return tqdm(iterable, **options)
    return _line_bar_class()(iterable, **options)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _line_bar_class() -> type:
    from tqdm import tqdm

    class LineBar(tqdm):  # type: ignore[misc, valid-type]
        """tqdm that draws nothing while it runs and writes its final state as one line when it closes."""

        def display(self, msg: Optional[str] = None, pos: Optional[int] = None) -> bool:
            if getattr(self, "_closing", False) and msg is None:
                self.fp.write(self.__str__())  # the final line; close() ends it with a newline
            return False  # nothing to clear afterwards

        def close(self) -> None:
            if not self.disable:
                self._closing = True
            super().close()

    return LineBar
