"""Pipeline stages: each a function from what is in the workspace to new rows in it."""
