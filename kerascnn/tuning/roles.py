"""A process's role in a search, keras-tuner's: read from its KERASTUNER_* environment variables.

Without them the search is local: one process runs the oracle and trains every trial. In a distributed search the
process whose KERASTUNER_TUNER_ID contains "chief" runs the oracle as a gRPC server at
KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT and trains nothing; every other process is a worker that asks it for
trials and reports their results. The search's folder is the chief's: workers may share it.
"""

import os

from kerascnn.errors import UserError

DISTRIBUTION_VARIABLES = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def role(environ=os.environ):
    """ "local", or in a distributed search "chief" (KERASTUNER_TUNER_ID contains "chief") or "worker"."""
    given = [name for name in DISTRIBUTION_VARIABLES if name in environ]
    if not given:
        return "local"
    missing = [name for name in DISTRIBUTION_VARIABLES if name not in environ]
    if missing:
        raise UserError(
            f"A distributed search needs {', '.join(DISTRIBUTION_VARIABLES)}; missing: "
            f"{', '.join(missing)} (see the README, Tuning)."
        )
    return "chief" if "chief" in environ["KERASTUNER_TUNER_ID"] else "worker"


def trains(role):
    """Whether a process of `role` trains trials: all but the chief, which only hands them out."""
    return role != "chief"


def keeps_folder(role):
    """Whether a process of `role` clears and records the search's folder: all but a worker, whose folder may be
    the chief's."""
    return role != "worker"


def oracle_address(environ=os.environ):
    """Where the chief serves the oracle, "ip:port"."""
    return f"{environ.get('KERASTUNER_ORACLE_IP')}:{environ.get('KERASTUNER_ORACLE_PORT')}"
