"""analytics-pipeline: batch ELT from regional MongoDB clusters to a warehouse, with Luigi."""

__version__ = "0.1.0"
