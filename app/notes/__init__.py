"""Notes: Markdown call notes split into updates tagged by region and speaker."""
