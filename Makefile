# Two commands: `make lab` to learn, `make test` to check everything (quick mode).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))

.PHONY: lab test test-slow unit notebooks render student book bench pretrain clean-venv

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0] + ". Try: make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# JupyterLab refuses to start as root (as in most containers) unless told --allow-root.
# ARGS passes more options, e.g. make lab ARGS="--no-browser --port 8889".
LAB_UID = $(shell id -u)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(LAB_UID)),--allow-root) $(ARGS)

test: $(STAMP)
	GANLIB_QUICK=1 $(BIN)/python -m pytest tests -m "not slow" -v --durations=25

# The tests marked slow (each over 4 CPU-minutes, such as re-running the semi-supervised GAN's cell of the committed
# grid): before changing a recipe whose results are committed in results/.
test-slow: $(STAMP)
	GANLIB_QUICK=1 $(BIN)/python -m pytest tests -m slow -v

unit: $(STAMP)
	GANLIB_QUICK=1 $(BIN)/python -m pytest tests -v

# Re-run every notebook in full mode and save its outputs (minutes per notebook on a laptop CPU).
render: $(STAMP)
	env -u GANLIB_QUICK $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=3600 $(NOTEBOOKS)
	$(BIN)/python -m ganlib.tidy_outputs $(NOTEBOOKS)

# Student versions of the notebooks in student/: solutions replaced by stubs, outputs cleared.
student: $(STAMP)
	$(BIN)/python -m ganlib.student

# The course as a static website in build/book/_build/html/, from the committed notebooks (nothing re-runs; offline).
book: $(STAMP)
	$(BIN)/python -m ganlib.book

# Measure speed on this machine and write artifacts/bench.json (about 30 min; ARGS="--notebooks both" adds
# every notebook in full mode, about an hour more).
bench: $(STAMP)
	$(BIN)/python -m ganlib.bench $(ARGS)

# Re-make the pretrained checkpoints in checkpoints/ (about 15 min).
pretrain: $(STAMP)
	$(BIN)/python -m ganlib.pretrain mnist_mlp spoken_digits

clean-venv:
	rm -rf $(VENV)
