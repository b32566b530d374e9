"""NumPy references for convolutions: the definitions, written as loops, independent of any framework."""

import numpy as np


def conv2d_numpy(x, kernel, strides=(1, 1), dilation=(1, 1), pads=((0, 0), (0, 0))):
    """Cross-correlation y[b, i, j, f] = sum x[b, i*s + u*d, j*s + v*d, c] * kernel[u, v, c, f], padded by zeros."""
    x = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)])
    (kh, kw), (sh, sw), (dh, dw) = kernel.shape[:2], strides, dilation
    out_h = (x.shape[1] - (kh - 1) * dh - 1) // sh + 1
    out_w = (x.shape[2] - (kw - 1) * dw - 1) // sw + 1
    y = np.zeros((x.shape[0], out_h, out_w, kernel.shape[-1]))
    for u in range(kh):
        for v in range(kw):
            patch = x[:, u * dh : u * dh + (out_h - 1) * sh + 1 : sh, v * dw : v * dw + (out_w - 1) * sw + 1 : sw, :]
            y += np.tensordot(patch, kernel[u, v].astype(np.float64), axes=([3], [0]))
    return y


def kernel_gradient_numpy(x, grad_y, kernel_shape, strides=(1, 1), dilation=(1, 1)):
    """dL/dK[u, v, c, f] = sum_b,i,j x[b, i*s + u*d, j*s + v*d, c] * dL/dy[b, i, j, f]: the cross-correlation of
    the layer's input with the gradient of its output (the classic back-propagation derivation)."""
    kh, kw = kernel_shape[:2]
    (sh, sw), (dh, dw) = strides, dilation
    out_h, out_w = grad_y.shape[1:3]
    grad = np.zeros(kernel_shape)
    for u in range(kh):
        for v in range(kw):
            patch = x[:, u * dh : u * dh + (out_h - 1) * sh + 1 : sh, v * dw : v * dw + (out_w - 1) * sw + 1 : sw, :]
            grad[u, v] = np.tensordot(patch.astype(np.float64), grad_y.astype(np.float64), axes=([0, 1, 2], [0, 1, 2]))
    return grad


def locally_connected_numpy(x, kernels, biases, strides=(1, 1), dilation=(1, 1), pads=((0, 0), (0, 0))):
    """y[b, i, j, f] = sum x[b, i*s + u*d, j*s + v*d, c] * kernels[i, j, u, v, c, f] + biases[i, j, f]: a
    cross-correlation with a kernel for each output position, looped over the positions."""
    x = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)])
    out_h, out_w, kh, kw = kernels.shape[:4]
    (sh, sw), (dh, dw) = strides, dilation
    y = np.zeros((x.shape[0], out_h, out_w, kernels.shape[-1]))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * sh : i * sh + (kh - 1) * dh + 1 : dh, j * sw : j * sw + (kw - 1) * dw + 1 : dw, :]
            y[:, i, j] = np.tensordot(window, kernels[i, j].astype(np.float64), axes=([1, 2, 3], [0, 1, 2]))
    return y + biases
