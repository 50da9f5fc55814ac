"""Expert pool and draw tables."""
