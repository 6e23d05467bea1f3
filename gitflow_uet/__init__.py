"""gitflow-uet: parallel workstreams against one git repository, landed one by one."""

__version__ = "0.1.0"
