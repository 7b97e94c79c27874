"""Floating-point operations of a Keras model, counted by hand from its layers' shapes.

A multiply-add counts as two FLOPs. Per sample, forward:

* ``Dense`` with ``n`` inputs and ``m`` units: ``2 n m`` (times the positions
  it is applied to when its input has more than two axes);
* ``Conv2D``: ``2 * H_out * W_out * k_h * k_w * C_in * C_out``;
* ``LSTM`` with ``d`` inputs and ``u`` units over ``T`` steps:
  ``T * 2 * 4u * (d + u)`` (four gates, each a matrix product of the input
  and of the previous state); ``GRU`` the same with three gates.

Training a layer costs its forward FLOPs three times: the forward pass, the
gradient with respect to its weights and the gradient with respect to its
input (each a matrix product of the same size). The first weighted layer of
each input branch needs no input gradient (its input is data), so it costs
two forward passes. Element-wise work (activations, pooling, biases, the
optimizer's update) is left out: it is small beside the matrix products here
and does not run on the units that give a machine its peak FLOP/s.
"""

from __future__ import annotations

import math

import keras


def _positions(shape):
    """How many vectors a layer applied to the last axis of ``shape`` sees per sample."""
    return math.prod(int(d) for d in shape[1:-1]) if len(shape) > 2 else 1


def _input_shape(layer):
    """The shape of a layer's (first) input; an LSTM after a masking embedding also gets the mask."""
    return tuple(keras.tree.flatten(layer.input)[0].shape)


def layer_forward_flops(layer) -> int:
    """Forward FLOPs per sample of one (non-nested) layer; 0 for layers without matrix products."""
    if isinstance(layer, keras.layers.Dense):
        shape = _input_shape(layer)
        return 2 * int(shape[-1]) * layer.units * _positions(shape)
    if isinstance(layer, keras.layers.Conv2D):
        _, height, width, channels_out = layer.output.shape
        kernel_h, kernel_w = layer.kernel_size
        channels_in = int(_input_shape(layer)[-1]) // layer.groups
        return 2 * int(height) * int(width) * kernel_h * kernel_w * channels_in * channels_out
    if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        _, steps, inputs = _input_shape(layer)
        gates = 4 if isinstance(layer, keras.layers.LSTM) else 3
        return int(steps) * 2 * gates * layer.units * (int(inputs) + layer.units)
    return 0


def _leaves(model):
    """Every leaf layer in ``model``, nested models flattened, in the order Keras lists them."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        else:
            yield layer


def _reads_data(layer):
    """Whether ``layer`` (a layer of a functional model) is fed by the model's inputs only."""
    nodes = getattr(layer, "_inbound_nodes", [])
    tensors = [t for node in nodes for t in node.input_tensors]
    return bool(tensors) and all(
        isinstance(t._keras_history.operation, keras.layers.InputLayer) for t in tensors
    )


def _without_input_gradient(model):
    """Leaf layers that need no gradient with respect to their input.

    A layer needs none when nothing between the model's inputs and it has
    trainable weights: the first weighted layer of an encoder that reads the
    data (``conv1`` of the image encoder; not the text encoder's LSTM, whose
    input is a trainable embedding).
    """
    found = set()
    for layer in model.layers:
        if not _reads_data(layer):
            continue
        for leaf in _leaves(layer) if isinstance(layer, keras.Model) else [layer]:
            if layer_forward_flops(leaf):
                found.add(id(leaf))
            if leaf.trainable_weights:
                break
    return found


def model_flops(model) -> dict:
    """Per-sample FLOPs of ``model``: ``{"forward", "train_step", "layers": {name: forward}}``."""
    no_input_gradient = _without_input_gradient(model)
    forward = train = 0
    layers = {}
    for leaf in _leaves(model):
        flops = layer_forward_flops(leaf)
        if not flops:
            continue
        layers[leaf.name] = flops
        forward += flops
        train += flops * (2 if id(leaf) in no_input_gradient else 3)
    return {"forward": forward, "train_step": train, "layers": layers}
