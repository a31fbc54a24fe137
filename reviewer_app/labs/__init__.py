"""Lab results for review: flags, the flowsheet and trends (Qt-free).

``flags`` decides each result's flag and says where it came from; ``flowsheet`` groups a
Case's results by panel and analyte into draw columns; ``trend`` turns one analyte into
points to plot. The Labs pane (``ui/labs``) only displays what these build.
"""

from reviewer_app.labs.flags import Flag, FlagKind, FlagSource, flag_for
from reviewer_app.labs.flowsheet import Analyte, Flowsheet, LabValue, Panel, build_flowsheet
from reviewer_app.labs.trend import Trend, TrendPoint, trend_of

__all__ = [
    "Analyte",
    "Flag",
    "FlagKind",
    "FlagSource",
    "Flowsheet",
    "LabValue",
    "Panel",
    "Trend",
    "TrendPoint",
    "build_flowsheet",
    "flag_for",
    "trend_of",
]
