"""teumtem sources."""
