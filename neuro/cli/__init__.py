"""The ``neuro`` command."""
