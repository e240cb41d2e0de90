"""teumtem linkage."""
