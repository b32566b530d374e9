"""Fault injection for the fault suite (tests/faults/): the moments a random kill rarely hits, on demand.

`KERASCNN_FAILPOINT=checkpoint` (or `checkpoint:3` for the third time) makes the process kill itself with SIGKILL
when it reaches `failpoint("checkpoint")`: exactly what a lost machine or the OOM killer does there, with no
chance to clean up. Unset, as in every real run, a failpoint does nothing.
"""

import os
import signal
from collections import Counter

_hits = Counter()


def failpoint(name):
    point, _, count = os.environ.get("KERASCNN_FAILPOINT", "").partition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
