# volresearch: one entry point for set-up, the main job, tests, benchmarks and the dashboard.
#   make demo       create .venv, install everything, run the main job on the embedded S&P 500 data
#   make test       the whole test suite (unit, property, notebooks, browser); what CI runs
#   make test-fast  the suite without tests marked slow
#   make bench      benchmarks, figures printed as ratios measured in the same run
#   make bench-particles  the filter benchmarks against the `particles` library (own venv: it declares numpy < 2)
#   make dashboard  serve the Panel dashboard on http://localhost:5006/app

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSSTAMP := $(VENV)/.system-packages
PVENV := .venv-particles
LINTED := volresearch tests benchmarks dashboards notebooks/_src
OUT ?= reports

.PHONY: demo test test-fast bench bench-particles dashboard setup system-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

# Debian packages the surfaces and tests need: Chromium (browser tests, PDF printing), poppler
# (pdftoppm) and the PostgreSQL server binaries (the store tests start a throwaway server).
system-deps: $(SYSSTAMP)

$(SYSSTAMP): | $(STAMP)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	fc-list 2>/dev/null | grep -qi dejavu || missing="$$missing fonts-dejavu-core"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	touch $(SYSSTAMP)

demo: $(STAMP) system-deps
	$(BIN)/volresearch demo --out $(OUT)

test: $(STAMP) system-deps
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=25 --cov=volresearch --cov-report=json:coverage-report.json --cov-report= tests
	$(BIN)/python tests/coverage_floors.py coverage-report.json
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax notebooks

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not browser" tests

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

$(PVENV)/.installed: pyproject.toml
	test -x $(PVENV)/bin/python || $(PYTHON) -m venv $(PVENV)
	$(PVENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(PVENV)/bin/python -m pip install --quiet -e .
	# particles 0.4 declares numpy < 2 but runs on numpy 2 (its own StochVol SMC checked here): its other
	# requirements are installed with their dependencies, particles itself without
	$(PVENV)/bin/python -m pip install --quiet joblib scikit-learn
	$(PVENV)/bin/python -m pip install --quiet --no-deps 'particles>=0.4'
	$(PVENV)/bin/python -c "import particles, particles.state_space_models as m; a = particles.SMC(fk=m.Bootstrap(ssm=m.StochVol(), data=m.StochVol().simulate(50)[1]), N=100); a.run()"
	touch $@

bench-particles: $(PVENV)/.installed
	$(PVENV)/bin/python benchmarks/bench_filter.py
	$(PVENV)/bin/python benchmarks/bench_sv_filter.py

dashboard: $(STAMP)
	BOKEH_RESOURCES=server $(BIN)/panel serve dashboards/app.py --show

clean:
	rm -rf $(VENV) $(PVENV) $(OUT) .pytest_cache .coverage coverage-report.json
