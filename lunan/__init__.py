"""Digital Lunan (数字鲁南): software for a city alliance's linkage mechanism."""

__version__ = "0.1.0"
