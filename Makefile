# Two entry points (see README): `make run` starts the app, `make test` runs every test.
# Both create the virtual environment in .venv first if it is missing or out of date.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test lint bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -r requirements-dev.txt
	touch $(VENV)/.runtime-deps $@

run: $(VENV)/.runtime-deps
	$(BIN)/streamlit run app.py --server.address localhost --server.port $(PORT)

test: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .

bench: $(VENV)/.dev-deps
	$(BIN)/python -m bench

clean-venv:
	rm -rf $(VENV)
