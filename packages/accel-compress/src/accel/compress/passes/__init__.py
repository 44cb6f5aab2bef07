"""Compression passes, each registered in `accel.passes` and called as `pass_(model, context)`."""
