"""newsdedup: groups syndicated copies and story clusters of news articles."""

__version__ = "0.1.0"
