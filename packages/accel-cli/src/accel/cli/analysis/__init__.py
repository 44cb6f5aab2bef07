"""Model and data analysis for `accel analyze-model` and `accel analyze-data` (imports torch)."""
