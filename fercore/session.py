"""The one onnxruntime session factory of the classifier and the face detector: threads and execution providers.

Execution providers come from ``--providers`` (the command lines of ``predict``, ``score`` and ``demo``), else the
environment variable ``FER_PROVIDERS`` (read by every process: the Celery workers too), else the CPU. Either is a
comma-separated list, in order of preference, of names the installed onnxruntime offers
(``onnxruntime.get_available_providers()``): full names such as ``CUDAExecutionProvider`` or short ones such as
``cuda``, any case. ``onnxruntime-gpu`` offers ``CUDAExecutionProvider``; the CPU is always there.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Sequence

import onnxruntime as ort

PROVIDERS_ENV = "FER_PROVIDERS"
CPU = "CPUExecutionProvider"
SUFFIX = "ExecutionProvider"


class ProviderError(ValueError):
    """An execution provider the installed onnxruntime does not offer; ``str(err)`` is one line."""


def providers(spec: str | Sequence[str] | None = None) -> list[str]:
    """The execution providers to use, full names in order of preference.

    Args:
        spec: comma-separated names, or a list of them (full or short, any case: ``cuda,cpu``); None or empty:
            ``FER_PROVIDERS``, and where that is unset or empty, ``["CPUExecutionProvider"]``.

    Raises:
        ProviderError: a name the installed onnxruntime does not offer (the message lists those it does).
    """
    if spec is None or spec == "" or spec == []:
        spec = os.environ.get(PROVIDERS_ENV, "")
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    if not names:
        return [CPU]
    available = ort.get_available_providers()
    by_name = {**{a.lower(): a for a in available}, **{a.lower().removesuffix(SUFFIX.lower()): a for a in available}}
    out = []
    for name in names:
        full = by_name.get(name.lower())
        if full is None:
            raise ProviderError(f"execution provider {name!r} is not available: this onnxruntime offers "
                                f"{', '.join(available)} (--providers or {PROVIDERS_ENV})")
        if full not in out:
            out.append(full)
    return out


def session(path: str | Path, threads: int = 0, provider_names: str | Sequence[str] | None = None
            ) -> ort.InferenceSession:
    """An onnxruntime session of the ONNX file ``path``, all graph optimisations on.

    Args:
        threads: intra-op threads (0: onnxruntime's default, one per core; 1 where one process runs per core).
        provider_names: see :func:`providers`.

    Raises:
        ProviderError: an unavailable execution provider.
        FileNotFoundError: no such file.
    """
    chosen = providers(provider_names)
    if not Path(path).is_file():
        raise FileNotFoundError(f"model not found: {path}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=chosen)


def add_providers_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--providers`` (a string for :func:`providers`; default None: ``FER_PROVIDERS``, else the CPU)."""
    parser.add_argument("--providers", default=None, metavar="NAMES",
                        help=f"onnxruntime execution providers in order of preference, e.g. cuda,cpu (default: "
                             f"${PROVIDERS_ENV}, else cpu); one of onnxruntime.get_available_providers()")
