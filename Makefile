# volresearch: one entry point for set-up, the main job, tests, benchmarks and the dashboard.
#   make demo       create .venv, install everything, run the main job on the embedded S&P 500 data
#   make test       the whole test suite (unit, property, notebooks, browser); what CI runs
#   make test-fast  the suite without tests marked slow
#   make bench      benchmarks, figures printed as ratios measured in the same run
#   make dashboard  serve the Panel dashboard on http://localhost:5006/app

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSSTAMP := $(VENV)/.system-packages
OUT ?= reports

.PHONY: demo test test-fast bench dashboard setup system-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

# Debian packages the surfaces need: Chromium (browser tests, PDF printing) and poppler (pdftoppm).
system-deps: $(SYSSTAMP)

$(SYSSTAMP): | $(STAMP)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	fc-list 2>/dev/null | grep -qi dejavu || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	touch $(SYSSTAMP)

demo: $(STAMP) system-deps
	$(BIN)/volresearch demo --out $(OUT)

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider tests
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax notebooks

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not browser" tests

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

dashboard: $(STAMP)
	BOKEH_RESOURCES=server $(BIN)/panel serve dashboards/app.py --show

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
