"""Insight reports: escalations, integrity, one case, and the transparency export.

Each report is built in two steps, on purpose: a builder (``escalations.build``,
``integrity.build``, ``case.build``, ``transparency.build``) computes a plain, frozen data
object of numbers from the stores, and ``documents`` turns it into files (HTML and PDF
through ``render``, charts through ``charts``; CSV for transparency). So tests and other
callers can check the numbers without parsing a document, and the documents can change
without touching how anything is counted.

``catalogue.list_reports(data_dir)`` lists the reports written; ``schedule.run`` writes
the due ones. Periods are whole weeks or months (``period``).
"""

from custodes.reports.catalogue import ReportEntry, find, list_reports
from custodes.reports.period import Period, PeriodKind

__all__ = ["Period", "PeriodKind", "ReportEntry", "find", "list_reports"]
