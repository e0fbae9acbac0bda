"""Calls: recurring series, single calls rescheduled, cancelled or added, and their times."""
