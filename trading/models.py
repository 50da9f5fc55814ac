"""Tender and bid tables."""
