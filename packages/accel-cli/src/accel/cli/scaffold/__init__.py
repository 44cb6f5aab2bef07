"""Templates that `accel add` and `accel configure init` write into a project."""
