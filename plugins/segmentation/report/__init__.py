"""The daily run report: charts of the snapshot's segments and their personas, as PNGs and one HTML page.

`build_report` is what the DAG's report task calls; it returns where the page was published.
"""

from segmentation.report.build import build_report
from segmentation.report.data import ReportError
from segmentation.report.destination import DEFAULT_DESTINATION

__all__ = ["DEFAULT_DESTINATION", "ReportError", "build_report"]
