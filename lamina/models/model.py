"""``Model``: a functional graph of layers (``Model(inputs, outputs)``) or a subclassed model.

Parameters live in the layers' weights; ``stateless_call`` runs the model as a pure function of
``{weight path: array}`` dicts, which is what ``fit``/``predict`` jit.

>>> import numpy as np
>>> from lamina import layers, Model
>>> x = layers.Input((5, 10))
>>> model = Model(x, layers.Dense(100)(layers.Flatten()(x)))
>>> model.count_params(), model.predict(np.zeros((2, 5, 10)), verbose=0).shape
(5100, (2, 100))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import lamina.models.functional as functional  # not `from lamina.models import`: that ties model.py to the package
from lamina import naming
from lamina.graph import KerasTensor, flatten_tensors, map_structure
from lamina.layers.base import CallScope, Layer, Weight, _map_shapes, _normalize_shape, shape_str
from lamina.training import data
from lamina.training.trainer import Trainer


class Model(Trainer, Layer):
    """A model: ``Model(inputs, outputs)`` from ``Input`` tensors, or a subclass that defines ``call``."""

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, trainable: bool = True,
                 **kwargs: Any) -> None:
        name = name or naming.auto_name(self._default_name())
        Layer.__init__(self, name=name, trainable=trainable, **kwargs)
        Trainer.__init__(self)
        self._nodes: list[Any] = []
        self._layers: list[Layer] = []
        self._operations: list[Any] = []
        self._inputs_struct: Any = None
        self._outputs_struct: Any = None
        self.inputs: list[KerasTensor] = []
        self.outputs: list[KerasTensor] = []
        self._functional = False
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError(f"Model '{self.name}': give both inputs and outputs, e.g. Model(inputs, outputs).")
            self._init_graph(inputs, outputs)

    @classmethod
    def _default_name(cls) -> str:
        return "model" if cls.__name__ in ("Model", "Functional") else cls.__name__

    # ------------------------------------------------------------------------------------ the graph
    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs, self.outputs = flatten_tensors(inputs), flatten_tensors(outputs)
        if not self.inputs or not self.outputs:
            raise ValueError(f"Model '{self.name}': inputs and outputs must be tensors from lamina layers.")
        self._nodes, self._operations = functional.map_graph(self.inputs, self.outputs, self.name)
        self._layers = [op for op in self._operations if isinstance(op, Layer)]  # operations (x * 2) are no layers
        object.__setattr__(self, "_tracked_layers", list(self._layers))
        self._functional = True
        self.built = True
        self._build_input_shape = map_structure(lambda t: t.shape, inputs)

    @property
    def layers(self) -> list[Layer]:
        """The model's layers (a functional model lists its InputLayers, as Keras does)."""
        if self._functional:
            return list(self._layers)
        return [layer for layer in self._sublayers()]

    # A functional model's own inputs and outputs, whatever new inputs it is later called on (as Keras 3).
    @property
    def input(self) -> Any:
        """The model's ``Input`` tensors in the structure given to ``Model(inputs, ...)``."""
        return self._inputs_struct if self._functional else Layer.input.fget(self)

    @property
    def output(self) -> Any:
        """The model's output tensors in the structure given to ``Model(..., outputs)``."""
        return self._outputs_struct if self._functional else Layer.output.fget(self)

    @property
    def input_shape(self) -> Any:
        """``(None, ...)`` for one input, a list of shapes for several (dict inputs too), as Keras 3."""
        if not self._functional:
            return Layer.input_shape.fget(self)
        return _shapes_as_keras(self.inputs)

    @property
    def output_shape(self) -> Any:
        """``(None, ...)`` for one output, a list of shapes for several (dict outputs too), as Keras 3."""
        if not self._functional:
            return Layer.output_shape.fget(self)
        return _shapes_as_keras(self.outputs)

    @property
    def input_names(self) -> list[str]:
        """The names of the model's ``Input`` layers, in input order."""
        self._require_graph("input_names")
        return [t.history.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """The names of the layers that produce the model's outputs, in output order (as Keras 3)."""
        self._require_graph("output_names")
        return [t.history.layer.name for t in self.outputs]

    def _require_graph(self, attr: str) -> None:
        if not self._functional:
            raise AttributeError(f"Model '{self.name}' has no defined {attr} yet: build it first, by calling it on "
                                 "data or by giving the first layer an input shape.")

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by ``index`` into ``layers``."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Model '{self.name}' has {len(self.layers)} layers; index {index} is out of range.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Model '{self.name}' has layers "
                         f"{[layer.name for layer in self.layers]}.")

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not self._functional:
            raise NotImplementedError(f"Model '{self.name}' has no graph: subclasses must implement call().")
        values = self._flatten_inputs(inputs)
        return functional.run_graph(self._nodes, self.inputs, values, self._outputs_struct, training)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._functional:
            return map_structure(lambda t: t.shape, self._outputs_struct)
        return super().compute_output_shape(input_shape)

    def build(self, input_shape: Any = None) -> None:
        """Build a subclassed model by tracing it on symbolic inputs of ``input_shape`` (a shape or a list)."""
        if self._functional or input_shape is None:
            return
        shape = _normalize_shape(input_shape)
        self._trace_build(_map_shapes(lambda s: jax.ShapeDtypeStruct(tuple(1 if d is None else d for d in s),
                                                                    jnp.float32), shape))
        self._build_input_shape = shape
        self.built = True

    def _trace_build(self, specs: Any) -> None:
        """Create a subclassed model's weights by running ``call`` abstractly on ``specs``."""
        with CallScope():
            jax.eval_shape(lambda x: self._call_with_training(x, (), {}, False), specs)

    def _flatten_inputs(self, inputs: Any) -> list[Any]:
        """Match user inputs (array, list or dict) to ``self.inputs``, checking ranks and sizes."""
        if not self._functional:
            return inputs if isinstance(inputs, list) else [inputs]
        n = len(self.inputs)
        if isinstance(inputs, dict):
            values = []
            for t in self.inputs:
                key = t.history.layer.name
                if isinstance(self._inputs_struct, dict):
                    key = next(k for k, v in self._inputs_struct.items() if v is t)
                if key not in inputs:
                    raise ValueError(f"Model '{self.name}': missing input {key!r}; received keys {sorted(inputs)}.")
                values.append(inputs[key])
        elif isinstance(inputs, (list, tuple)) and n > 1:
            values = list(inputs)
        elif isinstance(inputs, (list, tuple)) and n == 1 and len(inputs) == 1 and not isinstance(inputs[0], (
                int, float)):
            values = [inputs[0]]
        else:
            values = [inputs]
        if len(values) != n:
            raise ValueError(f"Model '{self.name}' expects {n} inputs "
                             f"({[t.history.layer.name for t in self.inputs]}), but received {len(values)}.")
        for i, (t, v) in enumerate(zip(self.inputs, values)):
            shape = tuple(getattr(v, "shape", np.shape(v)))
            want = t.shape
            adjusted = v
            if len(shape) == len(want) - 1 and want[-1] == 1:  # Keras adds a trailing axis of size 1
                adjusted = v[..., None]
            elif len(shape) == len(want) + 1 and shape[-1] == 1:  # ... and drops one
                adjusted = v[..., 0]
            fits = tuple(getattr(adjusted, "shape", np.shape(adjusted)))
            if len(fits) == len(want) and all(w is None or w == s for w, s in zip(want, fits)):
                values[i] = adjusted
                continue
            bad = len(shape) != len(want) or any(w is not None and w != s for w, s in zip(want, shape))
            if bad:
                hint = ""
                if len(shape) == len(want) - 1:
                    hint = " The batch axis may be missing: add one with x[None] or np.expand_dims(x, 0)."
                elif len(want) == 2 and len(shape) > 2 and want[1] == int(np.prod(shape[1:])):
                    hint = (f" Flatten the samples first (x.reshape(len(x), {want[1]})) or start the model with "
                            "Flatten(input_shape=...).")
                raise ValueError(
                    f"Input {i} of model '{self.name}' (layer '{t.history.layer.name}') expects shape "
                    f"{shape_str(want)}, but received an array of shape {shape}.{hint}"
                )
        return values

    # --------------------------------------------------------------------------------- parameters
    def _weight_keys(self) -> list[tuple[str, Weight]]:
        """Every weight with a unique key (its path), in ``self.weights`` order."""
        out, used = [], set()
        for w in self.weights:
            key = w.path
            i = 1
            while key in used:
                key = f"{w.path}_{i}"
                i += 1
            used.add(key)
            out.append((key, w))
        return out

    def get_params(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The current ``(trainable, non_trainable)`` parameter dicts ``{path: array}``."""
        trainable, non_trainable = {}, {}
        for key, w in self._weight_keys():
            (trainable if w.trainable else non_trainable)[key] = w._value
        return trainable, non_trainable

    def set_params(self, trainable: dict[str, Any], non_trainable: dict[str, Any] | None = None) -> None:
        """Write parameter dicts (from ``get_params`` or training) back into the weights."""
        merged = {**trainable, **(non_trainable or {})}
        for key, w in self._weight_keys():
            if key in merged:
                w._value = merged[key]

    def stateless_call(self, trainable_variables: Any, non_trainable_variables: Any, inputs: Any,
                       training: bool = False, return_losses: bool = False, rng: Any = None,
                       **kwargs: Any) -> Any:
        """Run the model as a pure function: ``(outputs, non_trainable_variables)`` (Keras 3's JAX API).

        The variables are lists in the order of ``model.trainable_variables`` and
        ``model.non_trainable_variables`` (as Keras passes them), or ``{weight path: array}`` dicts; the new
        non-trainable values come back in the same form. ``return_losses=True`` adds the call's losses
        (``add_loss``, activity and weight regularization) as a third item. Dropout draws from ``rng`` (inside
        ``fit``, the step's key).
        """
        tkeys = [k for k, w in self._weight_keys() if w.trainable]
        ntkeys = [k for k, w in self._weight_keys() if not w.trainable]
        trainable = self._as_weight_dict(trainable_variables, tkeys, "trainable_variables")
        non_trainable = self._as_weight_dict(non_trainable_variables, ntkeys, "non_trainable_variables")
        if rng is None and training:
            rng = self.__dict__.get("_step_rng")
        outputs, updates, losses = self._apply_with_losses(trainable, non_trainable, inputs, training, rng)
        merged = {**non_trainable, **updates}
        new_non_trainable = merged if isinstance(non_trainable_variables, dict) else [merged[k] for k in ntkeys]
        if not return_losses:
            return outputs, new_non_trainable
        penalty = self._weight_penalty(trainable)
        if penalty is not None:
            losses.append(penalty)
        return outputs, new_non_trainable, losses

    def _as_weight_dict(self, values: Any, keys: list[str], what: str) -> dict[str, Any]:
        if isinstance(values, dict):
            return values
        values = list(values)
        if len(values) != len(keys):
            raise ValueError(f"Model '{self.name}'.stateless_call received {len(values)} {what}, but the model has "
                             f"{len(keys)}: pass them in the order of model.{what}.")
        return dict(zip(keys, values))

    def _weight_penalty(self, trainable: dict[str, Any]) -> Any:
        """The weight regularizers' sum over ``trainable`` (``None`` when no weight has a regularizer)."""
        penalty = None
        for key, w in self._weight_keys():
            if w.regularizer is not None and key in trainable:
                term = w.regularizer(trainable[key])
                penalty = term if penalty is None else penalty + term
        return penalty

    def _pure_apply(self, trainable: dict[str, Any], non_trainable: dict[str, Any], inputs: Any,
                    training: bool, rng: Any) -> tuple[Any, dict[str, Any], Any]:
        """``(outputs, updated non-trainable entries, sum of the call's losses)`` for dict parameters."""
        outputs, updates, losses = self._apply_with_losses(trainable, non_trainable, inputs, training, rng)
        return outputs, updates, (sum(losses) if losses else jnp.zeros(()))

    def _apply_with_losses(self, trainable: dict[str, Any], non_trainable: dict[str, Any], inputs: Any,
                           training: bool, rng: Any) -> tuple[Any, dict[str, Any], list[Any]]:
        keyed = self._weight_keys()
        merged = {**trainable, **non_trainable}
        values = {id(w): merged[k] for k, w in keyed if k in merged}
        with CallScope(values=values, training=training, rng=rng) as scope:
            self._ensure_built_for(inputs)
            outputs = self._call_with_training(inputs, (), {}, training)
            losses = [sum(scope.losses)] if scope.losses else []
        by_id = {id(w): k for k, w in keyed}
        updates = {by_id[i]: v for i, v in scope.updates.items() if i in by_id}
        return outputs, updates, losses

    def _ensure_built_for(self, inputs: Any) -> None:
        """Build an unbuilt subclassed model from the first data it sees (Sequential overrides this)."""
        if self.built or self._functional or inputs is None:
            return

        def spec(a: Any) -> Any:
            dtype = np.dtype(getattr(a, "dtype", np.float32))
            return jax.ShapeDtypeStruct(tuple(np.shape(a)), np.float32 if dtype == np.float64 else dtype)

        self._trace_build(map_structure(spec, inputs))
        self._build_input_shape = map_structure(lambda a: (None,) + tuple(np.shape(a))[1:], inputs)
        self.built = True

    # ----------------------------------------------------------------------------------- predict
    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: Any = None) -> Any:
        """Outputs for ``x`` as NumPy arrays, computed in jitted batches (default 32)."""
        if not self.built and not self._functional and isinstance(x, (list, tuple, dict)):
            self._ensure_built_for(data.to_arrays(x))  # a subclassed model with several inputs
        return self._predict_arrays(x, batch_size, verbose, steps, callbacks)

    # ------------------------------------------------------------------------------------ report
    def summary(self, line_length: int | None = None, positions: Sequence[float] | None = None,
                print_fn: Any = None, expand_nested: bool = False, show_trainable: bool = False,
                layer_range: Any = None) -> None:
        """Print the classic Keras table of layers, output shapes and parameter counts."""
        from lamina.summary import print_summary  # reporting sits above models (it walks them)

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    def explain(self, print_fn: Any = None) -> Any:
        """Print and return what each layer does to the shapes, with parameter arithmetic (``lamina.explain``)."""
        from lamina.explain import explain  # reporting sits above models (it walks them)

        return explain(self, print_fn=print_fn)

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                f"Model '{self.name}' has not yet been built, so {what} is not available. Build it by giving the "
                "first layer an input shape (e.g. Dense(10, input_shape=(784,)) or Input(shape=(784,)) as the "
                "first layer), by calling model.build(input_shape=(None, 784)), or by calling it on data "
                "(model.predict(x), model.fit(x, y))."
            )

    def count_params(self) -> int:
        self._require_built("count_params()")
        return sum(w.size for w in self.weights)

    # ------------------------------------------------------------------------------------ saving
    def save(self, filepath: Any, overwrite: bool = True) -> None:
        """Save architecture, weights and compile settings to a Keras 3 ``.keras`` file (``lamina.saving``)."""
        from lamina.saving import save_model  # saving sits above models (it builds them)

        save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath: Any, overwrite: bool = True) -> None:
        """Save the weights (and optimizer state) to a Keras 3 ``.weights.h5`` file."""
        from lamina.saving import save_weights  # saving sits above models (it builds them)

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, **kwargs: Any) -> None:
        """Load weights from a ``.weights.h5`` or ``.keras`` file written by lamina or Keras 3, or a legacy ``.h5``
        file (``by_name=True`` matches its layers by name)."""
        from lamina.saving import load_weights  # saving sits above models (it builds them)

        unknown = set(kwargs) - {"by_name"}
        if unknown:
            raise ValueError(f"Invalid keyword arguments: {sorted(unknown)}")
        load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=kwargs.get("by_name"))

    def to_json(self, **kwargs: Any) -> str:
        """The model's config as Keras's JSON text (``json.dumps`` arguments pass through); read it back with
        ``lamina.models.model_from_json``."""
        from lamina.saving import keras_file  # saving sits above models (it builds them)

        return json.dumps(keras_file.model_config(self), **kwargs)

    # ------------------------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        if not self._functional:
            return {"name": self.name, "trainable": self.trainable}
        return functional.functional_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Model:
        if "layers" in config and "input_layers" in config:
            return functional.functional_from_config(cls, config, custom_objects)
        return cls(**config)

    @classmethod
    def _from_serialized(cls, entry: dict[str, Any], custom_objects: dict[str, Any] | None) -> Model:
        return cls.from_config(entry.get("config", {}), custom_objects)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _shapes_as_keras(tensors: list[KerasTensor]) -> Any:
    shapes = [tuple(t.shape) for t in tensors]
    return shapes[0] if len(shapes) == 1 else shapes
