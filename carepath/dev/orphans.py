"""Children that do not outlive the process that started them: `carepath run`, the bench and the
tests start brokers and services, and a parent killed with -9 (an operator, a CI timeout) must
not leave them running — seven orphaned services once polled a dead broker through a whole
benchmark. On Linux the child asks the kernel for SIGTERM when its parent dies
(prctl PR_SET_PDEATHSIG, see prctl(2)); SIGTERM is their orderly shutdown."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def dies_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen (None where the kernel has no such request). The
    signal follows the thread that starts the child: start children from a thread that lives
    as long as they should (the main thread, the supervisor's)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # looked up here: the child only calls it
    parent = os.getpid()

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(1)

    return arm
