# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Both create .venv on first use and install unisolve with its test extras.
# torch is pinned to the CPU wheel (2.13.0) so no multi-GB CUDA build is pulled;
# pyproject.toml keeps the loose range (torch>=2.3) for users.
# `make test` also installs the petsc extra (`make petsc`): Debian's BLAS, LAPACK and
# MPICH, then petsc4py and mpi4py built from source against MPICH. pip keeps the built
# wheels in its cache, so only the first build on a machine is slow (18 minutes on
# 2 cores; about 15 s from the cache). `make test PETSC=0` skips it; PETSc tests then skip.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_CPU ?= torch==2.13.0
STAMP  := $(VENV)/.installed
PETSC  ?= 1
PETSC_STAMP := $(VENV)/.petsc
PETSC_CONFIGURE_OPTIONS ?= --with-fc=0 --with-debugging=0 --with-x=0 COPTFLAGS=-O3 CXXOPTFLAGS=-O3
TEST_DEPS := $(STAMP) $(if $(filter 1,$(PETSC)),$(PETSC_STAMP))

.PHONY: demo test lint bench venv petsc clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "$(TORCH_CPU)"
	$(PY) -m pip install -e ".[test,dev]" "$(TORCH_CPU)"
	touch $(STAMP)

petsc: $(PETSC_STAMP)

$(PETSC_STAMP): $(STAMP)
	tools/install-petsc-deps.sh
	PETSC_CONFIGURE_OPTIONS="$(PETSC_CONFIGURE_OPTIONS)" MPICC=mpicc \
	  $(PY) -m pip install --no-binary=mpi4py,petsc,petsc4py -e ".[petsc]" "$(TORCH_CPU)"
	touch $(PETSC_STAMP)

demo: $(STAMP)
	$(VENV)/bin/unisolve demo

test: $(TEST_DEPS)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# bench: every benchmark, results written into docs/BENCHMARKS.md and docs/img/ (--write;
# a script run by hand, or `unisolve bench NAME`, only prints unless given --write).
bench: $(STAMP)
	$(PY) benchmarks/linear.py --write
	$(PY) benchmarks/omega.py --write
	$(PY) benchmarks/dcdm.py --write
	$(PY) benchmarks/dcdm.py --outside --write
	$(PY) benchmarks/dcdm_scaling.py --write
	$(PY) benchmarks/dcdm_scaling.py --dim 3 --seeds 1 2 --repeats 2 --write
	$(PY) benchmarks/dcdm_safeguard.py --write
	$(PY) benchmarks/constrained.py --write
	$(PY) benchmarks/bcd.py --write
	$(PY) benchmarks/halpern.py --write
	$(PY) benchmarks/halpern_games.py --write
	$(PY) benchmarks/pinn.py --write
	$(PY) benchmarks/operators.py --write
	$(PY) benchmarks/stagger.py --write
	$(PY) benchmarks/petsc.py --write
	$(PY) benchmarks/sequences.py --write
	$(PY) benchmarks/threads.py --write
	$(PY) benchmarks/nonsymmetric.py --write
	$(PY) benchmarks/hardening.py --write
	$(PY) benchmarks/lasso.py --write
	$(PY) benchmarks/games.py --write
	$(PY) benchmarks/robust_start.py --before-atol 1e-4 --peers --write

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
