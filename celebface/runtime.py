"""Where and how torch runs: device, precision (bf16 autocast where the hardware is fast), threads."""
from __future__ import annotations

from typing import Optional

from .errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


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


def resolve_precision(precision: str, device: str) -> str:
    """'auto' -> 'bf16' where bf16 is fast (see bf16_is_fast), else 'fp32'."""
    if precision == "auto":
        return "bf16" if bf16_is_fast(device) else "fp32"
    return precision


def autocast(device: str, precision: str):
    """bf16 autocast when asked for (and the device supports it), else a no-op context."""
    import torch

    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                          enabled=precision == "bf16")


def set_threads(threads: Optional[int]) -> None:
    """Torch's intra-op threads (None: leave torch's default, one per core)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
