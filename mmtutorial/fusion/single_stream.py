"""Single-stream transformer fusion: one attention over the tokens of every modality.

:class:`~mmtutorial.fusion.CrossAttentionFusion` keeps two streams that read
each other once. :class:`TransformerFusion` joins the tokens of every
modality into one sequence and lets a stack of transformer blocks mix them,
as ViLT does with image patches and words (Kim et al., 2021): every token can
attend to every other, of its own modality or not, in every layer. It is
registered as ``"transformer"``, so ``build_classifier(...,
fusion="transformer")`` builds a model with it.
"""

from __future__ import annotations

import keras
from keras import ops

from .. import _checks
from ..transformer import ModalityTypeEmbedding, TransformerBlock
from ._tokens import TokenFusion
from .base import register

__all__ = ["TransformerFusion"]


@register("transformer")
class TransformerFusion(TokenFusion):
    """A pre-norm transformer over the joined tokens of every modality; its class token out.

    The inputs are token sequences ``x_m`` of shape ``(batch, n_m, d_m)``, one
    per modality (for example image regions or patches, then words). Each is
    projected to ``units`` features (a ``Dense`` layer, only where ``d_m !=
    units``) and gets its modality's learned type vector ``u_m``
    (:class:`~mmtutorial.transformer.ModalityTypeEmbedding`). A learned class
    token ``z`` goes first, and the joint sequence

        ``s = [z; x_1 W_1 + u_1; x_2 W_2 + u_2; ...]``

    of ``1 + n_1 + n_2 + ...`` tokens passes through ``layers`` pre-norm
    :class:`~mmtutorial.transformer.TransformerBlock` s. The output is the
    class token's final vector after one more LayerNorm, ``LayerNorm(s_0)``:
    the class token starts the same for every sample and learns, by attending,
    what the sample's tokens say together.

    Keras masks are honoured: a padding token (mask False, as the text
    encoder's embedding marks id 0) is never attended to, in any layer, so
    changing its vector cannot change the output. The class token and the
    tokens without a mask are always attended to.

    The inputs should carry their positions (add a
    :class:`~mmtutorial.transformer.PositionEmbedding` or use a
    :class:`~mmtutorial.transformer.PatchEmbedding`, or an encoder such as an
    LSTM whose outputs depend on order): attention itself ignores order.

    Args:
        units: the width of every token in the joint sequence and of the output.
        layers: the number of transformer blocks (>= 1).
        num_heads: attention heads per block; must divide ``units``.
        mlp_units: the blocks' MLP width (default ``4 * units``).
        dropout: rate in [0, 1) for attention weights and sublayer outputs
            while training.
        **kwargs: ``keras.layers.Layer`` arguments such as ``name``.

    Returns:
        Called on ``[x_1, x_2, ...]``, a tensor ``(batch, units)``.

    Example:
        >>> import numpy as np
        >>> layer = TransformerFusion(units=8, layers=1, num_heads=2)
        >>> regions = np.random.default_rng(0).random((2, 9, 16), dtype="float32")
        >>> words = np.random.default_rng(1).random((2, 5, 12), dtype="float32")
        >>> real = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=bool)
        >>> tuple(layer([regions, words], mask=[None, real]).shape)
        (2, 8)
    """

    min_inputs = 2
    max_inputs = None

    def __init__(
        self,
        units: int = 64,
        layers: int = 2,
        num_heads: int = 4,
        mlp_units: int | None = None,
        dropout: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        units, num_heads = self._units_and_heads(units, num_heads)
        self.units = units
        self.num_layers = _checks.integer("layers", layers, minimum=1, owner=owner)
        self.num_heads = num_heads
        if mlp_units is not None:
            mlp_units = _checks.integer("mlp_units", mlp_units, minimum=1, owner=owner)
        self.mlp_units = mlp_units
        self.dropout = _checks.fraction("dropout", dropout, owner=owner)
        # Every sublayer gets this layer's dtype policy, so that a mixed_float16 fusion
        # computes in float16 throughout even when the global policy is float32.
        policy = self.dtype_policy
        self.blocks = [
            TransformerBlock(num_heads, mlp_units, self.dropout, name=f"block_{i}", dtype=policy)
            for i in range(self.num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(
            epsilon=1e-6, name="final_norm", dtype=policy
        )

    # -- shapes ----------------------------------------------------------------

    def build(self, input_shape):
        shapes = self._check_shapes(self._as_shapes(input_shape))
        policy = self.dtype_policy
        self._projected = tuple(s[-1] != self.units for s in shapes)
        self.projections = []
        for index, (shape, projected) in enumerate(zip(shapes, self._projected)):
            if projected:
                dense = keras.layers.Dense(self.units, name=f"project_{index}", dtype=policy)
                dense.build(shape)
                self.projections.append(dense)
        tokens = [s[:2] + (self.units,) for s in shapes]
        self.type_embedding = ModalityTypeEmbedding(
            len(shapes), name="type_embedding", dtype=policy
        )
        self.type_embedding.build(tokens)
        self.class_token = self.add_weight(
            name="class_token",
            shape=(self.units,),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
        )
        lengths = [s[1] for s in shapes]
        total = None if None in lengths else 1 + sum(lengths)
        for block in self.blocks:
            block.build((shapes[0][0], total, self.units))
        self.final_norm.build((shapes[0][0], self.units))
        self._dims = tuple(s[-1] for s in shapes)
        self.built = True

    def fused_dim(self, dims):
        return self.units

    # -- forward ---------------------------------------------------------------

    def _sequence(self, inputs, masks):
        """The joint sequence ``(batch, 1 + n_1 + ..., units)`` and its mask (``None``: no padding)."""
        if tuple(x.shape[-1] for x in inputs) != self._dims:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for inputs of widths "
                f"{list(self._dims)}; received shapes {[tuple(x.shape) for x in inputs]}"
            )
        projections = iter(self.projections)
        tokens = [next(projections)(x) if p else x for x, p in zip(inputs, self._projected)]
        tokens = self.type_embedding(tokens)
        batch = ops.shape(tokens[0])[0]
        first = ops.cast(self.class_token, tokens[0].dtype)
        first = ops.broadcast_to(first[None, None, :], (batch, 1, self.units))
        sequence = ops.concatenate([first] + list(tokens), axis=1)
        if all(m is None for m in masks):
            return sequence, None
        parts = [ops.ones((batch, 1), dtype="bool")]
        for x, m in zip(tokens, masks):
            parts.append(m if m is not None else ops.ones(ops.shape(x)[:2], dtype="bool"))
        return sequence, ops.concatenate(parts, axis=1)

    def fuse(self, inputs, masks=None, training=None):
        masks = masks if masks is not None else [None] * len(inputs)
        x, mask = self._sequence(inputs, masks)
        for block in self.blocks:
            x = block(x, mask=mask, training=training)
        return self.final_norm(x[:, 0])

    def attention_scores(self, inputs, masks=None):
        """The self-attention weights of every block, for plotting attention maps.

        Args:
            inputs: ``[x_1, x_2, ...]`` as for calling the layer.
            masks: ``None`` or one ``None``-or-boolean ``(batch, n_m)`` array per
                input, True at real tokens. Unlike a call, this method does not
                read Keras masks off the inputs: for text token ids pass
                ``ids != 0``.

        Returns:
            A list with one array per block, ``(batch, heads, T, T)`` with ``T
            = 1 + n_1 + n_2 + ...``: the tokens in the order of the joint
            sequence, the class token first, then ``x_1``'s, then ``x_2``'s.
            Row ``i`` says how much token ``i`` attends to each token; the row
            of a real token sums to 1, with 0 on padded tokens; the row of a
            padded token is all 0. ``scores[-1][:, :, 0]`` is what
            the class token reads in the last block.
        """
        inputs = self._inputs(inputs)
        x, mask = self._sequence(inputs, self._checked_masks(masks, inputs, "masks"))
        scores = []
        for block in self.blocks:
            scores.append(block.attention_scores(x, mask))
            x = block(x, mask=mask)
        return scores

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "layers": self.num_layers,
                "num_heads": self.num_heads,
                "mlp_units": self.mlp_units,
                "dropout": self.dropout,
            }
        )
        return config
