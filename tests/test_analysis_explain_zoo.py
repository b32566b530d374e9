"""Every registered model explained (Grad-CAM, guided backpropagation, the deconvnet, occlusion) at a small input,
on TensorFlow, through the zoo's block layers (ResidualBlock, InceptionModule, GroupedConv2D, LRN), under mixed
precision, and on JAX, where the Grad-CAM maps must equal TensorFlow's. The heaviest models run in the slow suite."""

import concurrent.futures
import json

import numpy as np
import pytest
from zoo_helpers import plan, run_zoo_script

import kerascnn


def explain(plans, backend="tensorflow"):
    return run_zoo_script("explain_zoo.py", plans, backend, timeout=1800)


def check(reports):
    problems = []
    for name, report in reports.items():
        if "error" in report:
            problems.append(f"{name}: {report['error']}")
            continue
        spec = kerascnn.model_spec(name)
        size = json.loads(plan(name))["size"]
        channels = spec.input_shape[2]
        ok = report["finite"] and report["cam_shape"] == [2, size, size]
        low, high = report["cam_range"]
        ok &= 0 <= low <= high and high in (0.0, 1.0)
        ok &= report["guided_shape"] == report["deconv_shape"] == [2, size, size, channels]
        ok &= report["guided_peak"] > 0  # the class score reaches the pixels
        ok &= report["occlusion_shape"] == [2, 4, 4]
        if not ok:
            problems.append(f"{name}: { ({k: v for k, v in report.items() if k != 'cam'}) }")
    assert not problems, "\n".join(problems)


# One model of each kind of layer by default (GroupedConv2D and LRN, ResidualBlock, FCN's and DeepLab's heads;
# InceptionModule in tests/test_analysis_attribution.py); the rest of the registry in the slow suite (measured on
# a shared 2-core machine: 530 s for every model outside HEAVY).
FAST = ("lenet5", "alexnet", "allcnn_c", "resnet20", "fcn32s", "deeplab_largefov")


def test_a_model_of_each_kind_is_explained():
    check(explain([plan(name) for name in FAST]))


# A network without convolutional feature maps: Grad-CAM and the deconvnet have nothing to explain in it.
NO_MAPS = ("dense",)


@pytest.mark.slow
def test_every_other_model_is_explained():
    check(explain([plan(name) for name in kerascnn.list_models() if name not in FAST + NO_MAPS]))


def test_a_network_without_feature_maps_is_refused_in_one_line():
    from kerascnn.analysis.attribution import feature_layer
    from kerascnn.errors import UserError

    for name in NO_MAPS:
        model = kerascnn.get_model(name, num_classes=3)
        with pytest.raises(UserError, match=f"^{name} has no convolutional feature map to explain.$"):
            feature_layer(model)


def test_the_heads_under_mixed_precision_are_explained():
    check(explain([plan("alexnet", policy="mixed_float16")]))


@pytest.mark.slow
def test_a_residual_network_under_mixed_precision_is_explained():
    check(explain([plan("resnet20", policy="mixed_float16")]))


@pytest.mark.parametrize(
    # Each backend's run is a subprocess that builds and traces its models anew: minutes, so in the slow suite.
    "names",
    [
        pytest.param(("allcnn_c", "resnet20"), marks=pytest.mark.slow),
        pytest.param(("alexnet", "fcn8s", "unet"), marks=pytest.mark.slow),
    ],
)
def test_grad_cam_on_jax_equals_tensorflows(names):
    plans = [plan(name, cam_only=True) for name in names]  # the other methods are checked above, on TensorFlow
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # two processes, one a backend: independent
        on_tf, on_jax = pool.map(lambda backend: explain(plans, backend), ("tensorflow", "jax"))
    for name in names:
        assert on_jax[name]["backend"] == "jax" and on_tf[name]["backend"] == "tensorflow"
        np.testing.assert_allclose(on_jax[name]["cam"], on_tf[name]["cam"], atol=2e-3, err_msg=name)
