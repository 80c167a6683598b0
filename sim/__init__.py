"""omnibalance: an agent-based simulator of geopolitical alignment in Central Asia, 1991-2016."""

__version__ = "0.1.0"
