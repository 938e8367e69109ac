# `make demo` and `make test` each create .venv when missing, install, and run.
# `make demo` installs lamina with its `demo` extra (scikit-learn, whose bundled digits the demo trains on).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench seeds clean

$(VENV)/.installed-base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[demo]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-base
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: $(VENV)/.installed-base
	$(PY) examples/demo.py

test: $(VENV)/.installed-test
	$(PY) -m ruff check lamina tests bench examples
	$(PY) -m pytest lamina tests -q

seeds: $(VENV)/.installed-base
	$(PY) ../shared/tools/check_seeds.py --python $(PY)

bench: $(VENV)/.installed-test
	$(PY) -m pip install -q 'torch==2.13.0' || echo "torch not installed: PyTorch rows will be skipped"
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
