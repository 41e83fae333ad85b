"""Thin service classes: each method says what to send and what type comes back."""
