"""Regions (a hierarchy: West Africa is in Africa) and the people who give updates."""
