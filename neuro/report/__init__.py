"""neuro.report: plots and reports (matplotlib, imported lazily by callers)."""
