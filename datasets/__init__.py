"""neuro.datasets: offline event datasets and readers (installed from datasets/).

Generated datasets and readers for real recordings arrive with the event-data issue. Nothing is
downloaded at import time.
"""
