"""pipelines.train under tf.distribute on one machine: MirroredStrategy over two logical CPU devices, and two
MultiWorkerMirroredStrategy workers on localhost ports."""

import json
import socket
import subprocess
import sys

from pipeline_helpers import ROOT, TINY, run_pipeline


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_mirrored_strategy_over_two_cpu_devices_trains_and_exports(tmp_path):
    result = run_pipeline(
        "train",
        "lenet5",
        "--strategy",
        "mirrored",
        "--cpu-devices",
        2,
        "--epochs",
        1,
        "--run-dir",
        tmp_path / "run",
        "--output-dir",
        tmp_path / "out",
        *TINY,
    )
    assert result.returncode == 0, result.stderr
    assert "2 replica(s)" in result.stdout and "global batch 32" in result.stdout  # 16 a replica
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())
    assert recorded["replicas"] == 2 and recorded["global_batch"] == 32
    assert (tmp_path / "out" / "lenet5" / "1" / "saved_model.pb").exists()


def test_two_multi_worker_processes_train_one_epoch_together(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    workers = []
    for index in range(2):
        env = {
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONPATH": str(ROOT),
        }
        args = [
            "lenet5",
            "--strategy",
            "multi_worker",
            "--epochs",
            "1",
            "--run-dir",
            str(tmp_path / "run"),
            "--output-dir",
            str(tmp_path / "out"),
            *map(str, TINY),
        ]
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "pipelines.train", *args],
                cwd=ROOT,
                text=True,
                env={**__import__("os").environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outputs = [worker.communicate(timeout=600) for worker in workers]
    for worker, (_out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-2000:]
    assert "2 replica(s)" in outputs[0][0] and "global batch 32" in outputs[0][0]
    # The chief (worker 0) keeps the run's checkpoints and pushes; worker 1 keeps its own checkpoints only.
    assert (tmp_path / "run" / "checkpoints" / "epoch-0001-step-000000").is_dir()
    assert (tmp_path / "run" / "worker-worker-1" / "checkpoints" / "epoch-0001-step-000000").is_dir()
    assert (tmp_path / "out" / "lenet5" / "1" / "saved_model.pb").exists()
    assert not (tmp_path / "out" / "lenet5" / "2").exists()
