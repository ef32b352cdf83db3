"""The public API: every module imports, every advertised name resolves, every command is there.

Modules are imported plainly: a module that is missing or fails to import
fails these tests.  The expected names and commands are spelled out here, so
removing one from the package (or from ``__all__``) fails too.
"""

import importlib
import inspect
import pkgutil

import pytest

import volresearch
from volresearch.cli import COMMANDS, build_parser

PUBLIC_NAMES = {
    # errors
    "VolresearchError": "volresearch.errors",
    "DataError": "volresearch.errors",
    "FitError": "volresearch.errors",
    "ConfigError": "volresearch.errors",
    "SimulationError": "volresearch.errors",
    # data
    "load_bars": "volresearch.data",
    "validate_bars": "volresearch.data",
    "open_bars": "volresearch.data",
    "datasets": "volresearch.data",
    "synthetic_bars": "volresearch.data",
    "QualityReport": "volresearch.data",
    "Store": "volresearch.data.store",
    "TickAggregator": "volresearch.data.ticks",
    # models
    "ModelSpec": "volresearch.models",
    "Fit": "volresearch.models",
    "fit_garch": "volresearch.models",
    "conditional_volatility": "volresearch.models",
    "rolling_volatility": "volresearch.models",
    "compare_fits": "volresearch.models",
    "likelihood_ratio_test": "volresearch.models",
    "news_impact_curve": "volresearch.models",
    "CalibrationPipeline": "volresearch.models",
    "SkewedGED": "volresearch.models",
    # simulate
    "simulate_fit": "volresearch.simulate.engine",
    "simulate_paths": "volresearch.simulate.paths",
    "Paths": "volresearch.simulate.paths",
    "Fan": "volresearch.simulate.paths",
    "ParticleFilter": "volresearch.simulate.particle_filter",
    "RollingForecaster": "volresearch.simulate.rolling",
    # signals
    "analyze_distribution": "volresearch.signals",
    "ConfidenceCalculator": "volresearch.signals",
    # validate
    "stylized_facts": "volresearch.validate",
    "compare_stylized_facts": "volresearch.validate",
    "calibration_report": "volresearch.validate",
    "walk_forward": "volresearch.validate.walkforward",
    "compare_models": "volresearch.validate.compare",
}

# Packages and modules users import by name (notebooks, README, report template).
PUBLIC_MODULES = sorted(
    {
        "volresearch.cli",
        "volresearch.config",
        "volresearch.dashboard",
        "volresearch.data",
        "volresearch.ensembles",
        "volresearch.models",
        "volresearch.models.returns",
        "volresearch.overview",
        "volresearch.plots",
        "volresearch.predictive",
        "volresearch.quantiles",
        "volresearch.reports",
        "volresearch.signals",
        "volresearch.simulate",
        "volresearch.validate",
        *PUBLIC_NAMES.values(),
    }
)

CLI_COMMANDS = ("demo", "data", "fit", "simulate", "validate", "compare", "report")


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_public_module_imports(module):
    assert importlib.import_module(module).__name__ == module


def test_every_module_of_the_package_imports():
    names = [m.name for m in pkgutil.walk_packages(volresearch.__path__, "volresearch.")]
    assert set(PUBLIC_MODULES) - {"volresearch.config"} <= set(names) | {"volresearch"}
    for name in names:
        importlib.import_module(name)


def test_all_lists_exactly_the_public_names():
    advertised = [n for n in volresearch.__all__ if n != "__version__"]
    assert len(advertised) == len(set(advertised)), "duplicate names in volresearch.__all__"
    assert set(advertised) == set(PUBLIC_NAMES)
    assert "__version__" in volresearch.__all__
    assert dir(volresearch) == sorted(volresearch.__all__)


@pytest.mark.parametrize("name", sorted(PUBLIC_NAMES))
def test_public_name_resolves_to_its_module(name):
    module = importlib.import_module(PUBLIC_NAMES[name])
    value = getattr(volresearch, name)
    assert value is getattr(module, name)
    if inspect.ismodule(value):
        assert value.__name__.startswith("volresearch.")
    else:
        assert callable(value)
        assert value.__module__.startswith("volresearch.")


def test_version_is_a_version_string():
    parts = volresearch.__version__.split(".")
    assert len(parts) >= 2 and all(p.isdigit() for p in parts[:2])


def test_unknown_name_raises():
    with pytest.raises(AttributeError, match="no_such_thing"):
        volresearch.no_such_thing  # noqa: B018


@pytest.mark.parametrize("command", CLI_COMMANDS)
def test_cli_command_module_imports_and_registers(command):
    assert command in COMMANDS
    module = importlib.import_module(f"volresearch.cli.{command}")
    assert callable(module.register)


def test_cli_parser_offers_every_command(capsys):
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    assert set(sub.choices) == set(COMMANDS)
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([command, "--help"])
        assert exc.value.code == 0
        assert f"volresearch {command}" in capsys.readouterr().out
        assert callable(sub.choices[command].get_default("func")), f"{command} sets no func"
