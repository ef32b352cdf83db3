"""What a source of bars is: the one description shared by the reports and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["AssetClass", "SourceInfo"]

AssetClass = Literal["equity_index", "metal", "other"]


@dataclass(frozen=True)
class SourceInfo:
    """Where the data come from and what they are.

    Attributes
    ----------
    key
        Stable identifier: ``dataset:<name>``, ``file:<absolute path>``,
        ``upload:<n>:<file name>``, or the dataset name or path a report was
        asked for.
    label
        Short name shown to people (dataset name, file name, or the
        dashboard picker's entry).
    synthetic
        True for generated data, False for recorded market data, None when
        a file does not say.
    description
        One line for humans (a report's title page).
    symbol
        Instrument symbol of the bars (``attrs["symbol"]``) or None.
    instrument
        Key used for the confidence thresholds (the symbol without a
        ``-SYN`` style suffix; ``"default"`` thresholds apply when unknown).
    asset_class
        ``"equity_index"``, ``"metal"`` or ``"other"`` (the leverage criterion
        of the stylized facts depends on it).
    """

    key: str
    label: str
    synthetic: bool | None
    description: str
    symbol: str | None = None
    instrument: str = "default"
    asset_class: AssetClass = "other"

    @property
    def name(self) -> str:
        """The label (dataset name or file name in a report)."""
        return self.label

    @property
    def provenance(self) -> str:
        """``"synthetic data"``, ``"real market data"`` or a note that the file does not say."""
        if self.synthetic is True:
            return "synthetic data (generated, not market prices)"
        if self.synthetic is False:
            return "real market data"
        return "data from a file (not marked as synthetic)"
