"""Generate ``lamina/ops/op_specs.py`` from Keras: which ``Operation`` class each ``keras.ops`` function builds.

For every public ``keras.ops`` function this reads its source and finds the ``Class(init...).symbolic_call(call...)``
it makes on symbolic tensors, and records which function arguments go to the class's constructor (its config in a
``.keras`` file) and which to its call (the node's ``args``). Run ``python -m tests.ops.keras_op_specs`` to rewrite
the table; ``test_symbolic.py`` checks the stored table against this one.
"""

from __future__ import annotations

import ast
import inspect
import os
import pprint
import textwrap
import types

os.environ.setdefault("KERAS_BACKEND", "jax")


def _json_default(value: object) -> object:
    return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)


def keras_op_specs() -> dict[str, tuple]:
    """``{function name: (module, class name, init {class arg: fn arg}, call args, call kwargs, class defaults)}``."""
    import keras
    from keras import ops

    top = sorted(n for n in dir(ops) if not n.startswith("_") and not isinstance(getattr(ops, n), types.ModuleType))
    names = [(n, getattr(ops, n)) for n in top]
    names += [(n, getattr(ops.image, n)) for n in sorted(dir(ops.image)) if not n.startswith("_") and n not in top]
    del keras
    out: dict[str, tuple] = {}
    for name, fn in names:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        except (OSError, TypeError):
            continue
        found = None
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            inner = f.value if isinstance(f, ast.Attribute) and f.attr == "symbolic_call" else f
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name):
                found = (inner, node)
                break
        if found is None:
            continue
        inner, call = found
        cls = fn.__globals__[inner.func.id]
        init_params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name not in ("self",)]
        init: dict[str, str] = {}
        for i, arg in enumerate(inner.args):
            init[init_params[i].name] = ast.unparse(arg)
        for kw in inner.keywords:
            init[kw.arg] = ast.unparse(kw.value)
        call_args = [("*" + ast.unparse(a.value)) if isinstance(a, ast.Starred) else ast.unparse(a) for a in call.args]
        call_kwargs = {(kw.arg or "**"): ast.unparse(kw.value) for kw in call.keywords}
        defaults = {p.name: _json_default(p.default) for p in init_params
                    if p.name != "name" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                    and p.default is not p.empty}
        out[name] = (cls.__module__, cls.__name__, init, call_args, call_kwargs, defaults)
    return out


HEADER = '''"""Which Keras ``Operation`` each ``keras.ops`` function records on symbolic tensors (generated).

``SPECS[name] = (module, class_name, init, call_args, call_kwargs, defaults)``: ``init`` maps the class's
constructor arguments (its config) to the function's arguments, ``call_args`` / ``call_kwargs`` name the function
arguments the node is called with (``*name`` unpacks), ``defaults`` are the constructor's defaults. Regenerate with
``python -m tests.ops.keras_op_specs``.
"""

SPECS: dict[str, tuple] = '''

if __name__ == "__main__":
    path = os.path.join(os.path.dirname(__file__), "..", "..", "lamina", "ops", "op_specs.py")
    with open(path, "w") as f:
        f.write(HEADER + pprint.pformat(keras_op_specs(), width=116, sort_dicts=True) + "\n")
