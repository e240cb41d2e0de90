"""teumtem schemas."""
