"""neuro.encoders: data -> spikes and events (installed from the repository's encoders/).

Rate, latency, delta, sigma-delta, population, DVS-emulation and cochlea encoders arrive with
the event-data issue.
"""
