"""Pure-JAX compute kernels (convolution, pooling) with Keras 3's semantics, tuned for CPU.

>>> import jax.numpy as jnp
>>> from lamina import ops
>>> ops.max_pool(ops.conv(jnp.ones((1, 8, 8, 3)), jnp.ones((3, 3, 3, 4))), 2).shape
(1, 3, 3, 4)
"""

from lamina.ops.convolution import (
    conv,
    conv_output_shape,
    conv_padding,
    conv_transpose,
    conv_transpose_padding,
    depthwise_conv,
    select_conv_impl,
    separable_conv,
)
from lamina.ops.pooling import average_pool, avg_pool, global_pool, max_pool, pool_output_shape

__all__ = [
    "conv", "conv_output_shape", "conv_padding", "conv_transpose", "conv_transpose_padding", "depthwise_conv",
    "select_conv_impl", "separable_conv", "average_pool", "avg_pool", "global_pool", "max_pool",
    "pool_output_shape",
]
