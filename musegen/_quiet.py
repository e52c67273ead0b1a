"""Start TensorFlow without its start-up chatter (for the command line).

On a machine without a GPU, TensorFlow prints lines such as ``failed call to
cuInit`` and ``Could not find cuda drivers`` straight to the process's standard
error, before its own log settings apply; a newcomer reads them as errors.
`start_tensorflow` imports TensorFlow and finds its devices with standard error
caught, then passes on every line that is not such known chatter.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["start_tensorflow"]

_CHATTER = re.compile(
    r"absl::InitializeLog|cuInit|cuda_platform|cudart_stub|cuda drivers|cuda_executor"
    r"|oneDNN custom operations|TF_ENABLE_ONEDNN_OPTS|Unable to register cu(DNN|FFT|BLAS)"
    r"|computation placer|TF-TRT|TensorRT|This TensorFlow binary is optimized"
    r"|rebuild TensorFlow with the appropriate compiler flags|gpu_device\.cc|^\s*$"
)


def start_tensorflow() -> None:
    """Import TensorFlow and initialise its devices, hiding only its known start-up chatter.

    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless it is set already. Anything else
    TensorFlow prints meanwhile still reaches standard error.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _filtered_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()


@contextlib.contextmanager
def _filtered_stderr() -> Iterator[None]:
    """Catch what is written to file descriptor 2 inside the block; pass on non-chatter."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor 2 (an embedding host): leave it be
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            kept = [
                line
                for line in sink.read().decode("utf-8", "replace").splitlines()
                if not _CHATTER.search(line)
            ]
            if kept:
                print("\n".join(kept), file=sys.stderr)
