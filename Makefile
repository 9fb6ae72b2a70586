# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Both create .venv on first use and install unisolve with its test extras.
# torch is pinned to the CPU wheel (2.13.0) so no multi-GB CUDA build is pulled;
# pyproject.toml keeps the loose range (torch>=2.3) for users.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_CPU ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "$(TORCH_CPU)"
	$(PY) -m pip install -e ".[test,dev]" "$(TORCH_CPU)"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/unisolve demo

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/linear.py
	$(PY) benchmarks/omega.py
	$(PY) benchmarks/dcdm.py
	$(PY) benchmarks/constrained.py
	$(PY) benchmarks/bcd.py
	$(PY) benchmarks/halpern.py
	$(PY) benchmarks/pinn.py
	$(PY) benchmarks/operators.py
	$(PY) benchmarks/stagger.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
