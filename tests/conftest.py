import os

# Quiet TensorFlow's C++ start-up logs before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def mixed_policy(request):
    """Runs a test under a global mixed precision policy, and restores float32 after it."""
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")
