"""``keras.utils.Config``: a dict whose keys are also attributes, which can be frozen.

>>> c = Config(learning_rate=0.1)
>>> c.epochs = 3
>>> c.learning_rate, c["epochs"], c.to_json()
(0.1, 3, '{"learning_rate": 0.1, "epochs": 3}')
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = ["Config"]


class Config:
    """A mapping of settings readable as ``config.name`` or ``config["name"]``; ``freeze()`` makes it read-only."""

    __attrs__ = None

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)
        object.__setattr__(self, "__attrs__", set(dir(self)))

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        object.__setattr__(self, "_frozen", False)

    def _raise_if_frozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict[str, Any]:
        return dict(self._config)

    def to_json(self) -> str:
        return json.dumps(self._config)

    def keys(self) -> Any:
        return self._config.keys()

    def values(self) -> Any:
        return self._config.values()

    def items(self) -> Any:
        return self._config.items()

    def pop(self, *args: Any) -> Any:
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._raise_if_frozen()
        self._config.update(*args, **kwargs)

    def get(self, key: str, default: Any = None) -> Any:
        return self._config.get(key, default)

    def __setattr__(self, name: str, value: Any) -> None:
        self._raise_if_frozen()
        if name in (self.__attrs__ or ()):
            raise AttributeError(f"Cannot set attribute {name!r}: it is a method of Config.")
        self._config[name] = value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._config[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: '{name}'") from None

    def __setitem__(self, key: str, value: Any) -> None:
        self._raise_if_frozen()
        self._config[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __delitem__(self, key: str) -> None:
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, item: Any) -> bool:
        return item in self._config

    def __iter__(self) -> Iterator[str]:
        return iter(self._config)

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
