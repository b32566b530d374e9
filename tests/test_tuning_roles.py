"""A process's role in a distributed search, from keras-tuner's variables, and what each role does."""

import pytest

from kerascnn.errors import UserError
from kerascnn.tuning.roles import keeps_folder, oracle_address, role, trains

CLUSTER = {"KERASTUNER_ORACLE_IP": "10.0.0.1", "KERASTUNER_ORACLE_PORT": "8000"}


def test_roles_follow_keras_tuners_variables():
    cluster = CLUSTER
    assert role({}) == "local"
    assert role({**cluster, "KERASTUNER_TUNER_ID": "chief"}) == "chief"
    assert role({**cluster, "KERASTUNER_TUNER_ID": "tuner3"}) == "worker"
    with pytest.raises(UserError, match="missing: KERASTUNER_ORACLE_PORT"):
        role({"KERASTUNER_ORACLE_IP": "10.0.0.1", "KERASTUNER_TUNER_ID": "tuner0"})


def test_the_chief_only_serves_trials_and_a_worker_leaves_the_folder_to_it():
    # keras-tuner's protocol: the chief runs the oracle and trains nothing; the folder workers may share is the
    # chief's. A local search does both jobs.
    assert [trains(r) for r in ("local", "chief", "worker")] == [True, False, True]
    assert [keeps_folder(r) for r in ("local", "chief", "worker")] == [True, True, False]


def test_the_oracle_address_is_the_chiefs_ip_and_port():
    assert oracle_address(CLUSTER) == "10.0.0.1:8000"
