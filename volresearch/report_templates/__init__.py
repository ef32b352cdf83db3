"""The report notebook ``report.ipynb``, package data run by :func:`volresearch.reports.build_report`."""
