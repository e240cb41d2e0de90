"""teumtem pipelines."""
