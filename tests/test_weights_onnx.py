"""ONNX imports: graphs with the BVLC AlexNet and GoogLeNet structure of the ONNX model zoo, VGG and torchvision's
ResNets (tests/onnx_graphs.py) with random initialisers and BN statistics, run in onnxruntime as the reference,
imported into ours and compared; graphs whose topology differs are refused in one line."""

import sys

import numpy as np
import onnx
import onnx_graphs
import onnxruntime
import pytest
from onnx import helper

import kerascnn
from kerascnn.errors import UserError


def _save(graph, tmp_path, name):
    path = tmp_path / f"{name}.onnx"
    onnx.save(graph, path)
    return path


def _compare(path, name, size, seed, input_name="data_0", **options):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ours = kerascnn.get_model(name, weights=str(path), **options)
    # Mean-subtracted pixels of a few units: random weights multiply the magnitudes, and float32 rounding with them.
    x = np.random.default_rng(seed).normal(0, 2, (3, size, size, 3)).astype("float32")
    expected = session.run(None, {input_name: x.transpose(0, 3, 1, 2)})[0]  # the graph is NCHW, ours NHWC
    got = ours.predict(x, verbose=0)
    difference = np.abs(expected - got).max()
    assert difference < 1e-5, difference
    assert 0.01 < expected.max() < 0.9999  # neither flat nor one-hot: the top-5 below means something
    np.testing.assert_array_equal(np.argsort(-expected)[:, :5], np.argsort(-got)[:, :5])
    return ours, difference


def test_bvlc_alexnet(tmp_path):
    path = _save(onnx_graphs.bvlc_alexnet(np.random.default_rng(0)), tmp_path, "bvlcalexnet")
    ours, difference = _compare(path, "alexnet", 227, seed=1)
    print(f"alexnet: max |p - p_onnxruntime| = {difference:.2e}")
    # What the file fixes: Caffe's LRN (n=5, alpha=1e-4 / n, k=1) with the window across the two towers.
    norm = ours.get_layer("norm1")
    assert (norm.depth_radius, norm.bias, norm.alpha, norm.beta, norm.groups) == (2, 1.0, pytest.approx(2e-5), 0.75, 1)
    assert ours.preprocessing == "bvlc_alexnet"


@pytest.mark.parametrize("ceil_mode", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_bvlc_googlenet(tmp_path, ceil_mode):
    """Caffe's round-up pools, as an extra end pad (the zoo's file) or ONNX's ceil_mode, match our "same" pools."""
    path = _save(onnx_graphs.bvlc_googlenet(np.random.default_rng(2), ceil_mode=ceil_mode), tmp_path, "googlenet")
    _, difference = _compare(path, "googlenet", 224, seed=3)
    print(f"googlenet: max |p - p_onnxruntime| = {difference:.2e}")


@pytest.mark.slow
def test_a_vgg_graph_of_the_zoo_family(tmp_path):
    """The zoo's VGG graphs (MXNet's: Flatten of NCHW maps) map onto ours at any input where the head fits."""
    stages = ((64,), (128,), (256, 256), (512, 512), (512, 512))  # configuration A
    path = _save(onnx_graphs.vgg(np.random.default_rng(5), stages, size=64), tmp_path, "vgg11")  # 2x2 maps flattened
    _, difference = _compare(path, "vgg11", 64, seed=6, input_name="data", input_shape=(64, 64, 3))
    print(f"vgg11: max |p - p_onnxruntime| = {difference:.2e}")


@pytest.mark.parametrize(
    "form, epsilon",
    [("bn", 1e-5), ("bias", 1e-3), ("folded", 1e-5)],
    ids=["conv+BN", "conv bias+BN, another epsilon", "BN folded into the conv bias"],
)
def test_a_resnet18_graph(tmp_path, form, epsilon):
    """torchvision's layout (conv, BN, ReLU; a projection where the shape changes) with random BN statistics; the
    conv bias folded into the moving mean, the graph's epsilon into the moving variance, a folded conv into an
    identity BN."""
    graph = onnx_graphs.resnet(np.random.default_rng(7), 18, form=form, epsilon=epsilon)
    path = _save(graph, tmp_path, "resnet18")
    ours, difference = _compare(path, "resnet18", 64, seed=8, input_name="input", input_shape=(64, 64, 3))
    print(f"resnet18 ({form}, epsilon {epsilon}): max |p - p_onnxruntime| = {difference:.2e}")
    assert ours.preprocessing == "imagenet"  # torchvision's and MXNet's: RGB, ImageNet mean and std
    bn = ours.get_layer("conv2_block1").norms[0]
    stored = {t.name: onnx.numpy_helper.to_array(t) for t in graph.graph.initializer}
    if form == "folded":  # an identity BN whose offset is the conv's bias
        np.testing.assert_array_equal(bn.moving_mean.numpy(), 0)
        np.testing.assert_array_equal(bn.beta.numpy(), stored["layer1.0.conv1.bias"])
    else:  # what BN divides by is the graph's var + eps
        np.testing.assert_allclose(
            bn.moving_variance.numpy() + bn.epsilon, stored["layer1.0.bn1.running_var"] + epsilon, rtol=1e-6
        )


@pytest.mark.slow  # 10 s each: the bottleneck form; resnet18 covers the rest in the default suite
@pytest.mark.parametrize("stride_in_3x3", [False, True], ids=["v1", "v1.5"])
def test_a_resnet50_graph(tmp_path, stride_in_3x3):
    """Bottleneck blocks, the stride on the first 1x1 (the paper's v1) or on the 3x3 (torchvision's v1.5, into our
    model built with stride_in_3x3), keras.applications' node order (the projection before the main path) and
    epsilon 1.001e-5."""
    rng = np.random.default_rng(9)
    graph = onnx_graphs.resnet(rng, 50, epsilon=1.001e-5, shortcut_first=True, stride_in_3x3=stride_in_3x3)
    path = _save(graph, tmp_path, "resnet50")
    options = dict(input_shape=(64, 64, 3), stride_in_3x3=stride_in_3x3)
    _, difference = _compare(path, "resnet50", 64, seed=10, input_name="input", **options)
    print(f"resnet50 (stride_in_3x3={stride_in_3x3}): max |p - p_onnxruntime| = {difference:.2e}")
    if stride_in_3x3:  # into the paper's v1 model: refused at the first strided block
        with pytest.raises(UserError, match=r"at conv3_block1/conv1 \(node layer2\.0\.conv1\): strides \(1, 1\)"):
            kerascnn.get_model("resnet50", weights=str(path), input_shape=(64, 64, 3))


@pytest.fixture(scope="module")
def resnet18_graph():
    return onnx_graphs.resnet(np.random.default_rng(11), 18)


@pytest.mark.parametrize(
    "name, change, message",
    [
        (
            "resnet18",
            lambda g: _changed(g, "layer3.0.conv1", strides=[1, 1]),
            r"at conv4_block1/conv1 \(node layer3\.0\.conv1\): strides \(1, 1\) in the graph, \(2, 2\) in the model",
        ),
        (
            "resnet18",
            lambda g: _changed(g, "layer1.1.conv2", pads=[0, 0, 0, 0]),
            r"at conv2_block2/conv2 \(node layer1\.1\.conv2\): pads",
        ),
        ("resnet34", lambda g: g, r"at conv2_block3/conv1 \(node layer2\.0\.conv1\): strides"),
        ("vgg11", lambda g: g, r"node bn1: a graph with batch normalisation maps only onto the ResNet family"),
    ],
    ids=["wrong stride", "wrong pad", "resnet18 graph for resnet34", "ResNet graph for a VGG"],
)
def test_a_resnet_graph_of_another_topology_is_refused(resnet18_graph, tmp_path, name, change, message):
    path = _save(change(resnet18_graph), tmp_path, "changed")
    with pytest.raises(UserError, match=message) as error:
        kerascnn.get_model(name, weights=str(path), input_shape=(64, 64, 3))
    assert "\n" not in str(error.value)


@pytest.fixture(scope="module")
def googlenet_graph():
    return onnx_graphs.bvlc_googlenet(np.random.default_rng(4))


def _changed(graph, node_name, **attributes):
    graph = onnx.ModelProto.FromString(graph.SerializeToString())
    node = next(n for n in graph.graph.node if n.name == node_name)
    for key, value in attributes.items():
        node.attribute.remove(next(a for a in node.attribute if a.name == key))
        node.attribute.append(helper.make_attribute(key, value))
    return graph


def _retyped(graph, node_name, op_type):
    graph = onnx.ModelProto.FromString(graph.SerializeToString())
    next(n for n in graph.graph.node if n.name == node_name).op_type = op_type
    return graph


def _without(graph, node_name):
    graph = onnx.ModelProto.FromString(graph.SerializeToString())
    node = next(n for n in graph.graph.node if n.name == node_name)
    for other in graph.graph.node:
        for i, name in enumerate(other.input):
            if name == node.output[0]:
                other.input[i] = node.input[0]
    graph.graph.node.remove(node)
    return graph


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda g: _changed(g, "conv2/3x3", strides=[2, 2]), r"at conv2 \(node conv2/3x3\): strides \(2, 2\)"),
        (lambda g: _without(g, "conv2/norm2"), r"node pool2/3x3_s2 \(maxpool\) where the model has norm2 \(lrn\)"),
        (lambda g: _changed(g, "pool2/3x3_s2", pads=[0, 0, 0, 0]), r"at pool2 .*\(3, 2, 0, 27\).*\(3, 2, 0, 28\)"),
        (lambda g: _changed(g, "inception_4a/5x5", pads=[1, 1, 1, 1]), r"at inception_4a/5x5 .*pads"),
        (lambda g: _retyped(g, "conv1/7x7_s2_relu", "Sigmoid"), r"conv1/7x7_s2_relu: a Sigmoid has no counterpart"),
    ],
    ids=["wrong stride", "missing LRN", "floor pooling", "wrong pad", "another activation"],
)
def test_a_graph_of_another_topology_is_refused(googlenet_graph, tmp_path, change, message):
    path = _save(change(googlenet_graph), tmp_path, "changed")
    with pytest.raises(UserError, match=message) as error:
        kerascnn.get_model("googlenet", weights=str(path))
    assert "\n" not in str(error.value)


def test_new_head_on_an_onnx_backbone(googlenet_graph, tmp_path):
    path = _save(googlenet_graph, tmp_path, "googlenet")
    ours = kerascnn.get_model("googlenet", weights=str(path), num_classes=5)
    assert ours.output_shape == (None, 5)
    conv = ours.get_layer("conv1").get_weights()[0]
    reference = onnx.numpy_helper.to_array(
        next(t for t in googlenet_graph.graph.initializer if t.name.startswith("conv1"))
    )
    np.testing.assert_array_equal(conv, reference.transpose(2, 3, 1, 0))


def test_without_onnx_installed_the_error_names_the_install(monkeypatch, tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"\x00")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(UserError, match=r"needs the onnx package: pip install 'kerascnn\[onnx\]'"):
        kerascnn.get_model("alexnet", weights=str(tmp_path / "model.onnx"))


def test_inspect_draws_the_pretrained_first_layer_filters(googlenet_graph, tmp_path):
    """pipelines.inspect --weights: the first conv's filters, shown in RGB (the Caffe weights see BGR), 16 a row."""
    from PIL import Image

    from kerascnn import analysis
    from pipelines import inspect

    path = _save(googlenet_graph, tmp_path, "googlenet")
    inspect.main(["googlenet", "--weights", str(path), "--plot-dir", str(tmp_path / "plots")])
    picture = np.asarray(Image.open(tmp_path / "plots" / "filters.png"))
    kernel = onnx.numpy_helper.to_array(
        next(t for t in googlenet_graph.graph.initializer if t.name.startswith("conv1"))
    )
    kernel = kernel.transpose(2, 3, 1, 0)[:, :, ::-1]  # (h, w, B G R, 64) -> R G B
    tile = 7 * 7  # 7x7 filters, each weight a 7x7 block (a filter at least 44 pixels), 2 pixels apart
    expected = analysis.filter_grid(kernel, scale=7, gap=2, columns=16)
    assert expected.shape[:2] == (4 * (tile + 2) - 2, 16 * (tile + 2) - 2)  # 64 filters in 4 rows of 16
    # The grid at the bottom left, under its caption.
    grid = picture[picture.shape[0] - expected.shape[0] :, : expected.shape[1], :3]
    np.testing.assert_array_equal(grid, expected)


def test_alexnet_filters_are_the_papers_figure_3():
    """96 filters in 16 columns: the first 48 (one GPU's) fill the top three rows, the last 48 the bottom three."""
    from kerascnn import analysis

    kernel = np.random.default_rng(0).normal(size=(11, 11, 3, 96)).astype("float32")
    grid = analysis.filter_grid(kernel, columns=16)
    tile = 11 * 4 + 1
    assert grid.shape == (6 * tile - 1, 16 * tile - 1, 3)
    one = analysis.filter_grid(kernel[..., 48:49])
    np.testing.assert_array_equal(grid[3 * tile : 3 * tile + 44, :44], one)  # row 4, column 1: filter 49
