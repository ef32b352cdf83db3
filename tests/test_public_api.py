"""The top-level public API resolves every name it advertises."""

import importlib

import pytest

import volresearch


@pytest.mark.parametrize("name", [n for n in volresearch.__all__ if n != "__version__"])
def test_public_name_resolves(name):
    if name in ("walk_forward", "compare_models"):
        pytest.importorskip("volresearch.validate.walkforward")
    assert getattr(volresearch, name) is not None


def test_unknown_name_raises():
    with pytest.raises(AttributeError):
        volresearch.no_such_thing  # noqa: B018


def test_cli_lists_every_command():
    from volresearch.cli import COMMANDS, build_parser

    parser = build_parser()
    text = parser.format_help()
    for cmd in COMMANDS:
        if importlib.util.find_spec(f"volresearch.cli.{cmd}") is not None:
            assert cmd in text
