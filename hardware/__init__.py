"""neuro.hardware: chips, crossbars, FPGAs and energy estimates (installed from hardware/).

Cited chip presets, mapping and energy reports arrive with the hardware issue.
"""
