"""``lamina.ops``: every name of ``keras.ops`` over ``jax.numpy`` / ``jax.lax``, with Keras 3's semantics.

The names live in one module per family, as in Keras: :mod:`lamina.ops.numpy` (NumPy-style),
:mod:`lamina.ops.nn` (activations, losses, convolution, pooling), :mod:`lamina.ops.linalg`,
:mod:`lamina.ops.image` (only under ``ops.image``), :mod:`lamina.ops.math` and :mod:`lamina.ops.core` (control
flow, casting, ``convert_to_tensor``...). Every public op goes through :func:`lamina.ops.symbolic.dispatch`, so the
same function works on arrays inside ``call`` and on symbolic tensors in the functional API. The tuned CPU kernels
behind ``ops.conv`` and ``ops.max_pool`` are in :mod:`lamina.ops.convolution` and :mod:`lamina.ops.pooling`.
"""

from lamina.ops import image, linalg, nn, numpy
from lamina.ops.core import *  # noqa: F403
from lamina.ops.linalg import *  # noqa: F403
from lamina.ops.math import *  # noqa: F403
from lamina.ops.nn import *  # noqa: F403
from lamina.ops.numpy import *  # noqa: F403
