"""accel tabular: CSV data with schemas, fitted preprocessing, MLPs, regression metrics."""
