"""Image datasets as data modules: seeded train/val/test loaders plus `num_classes` and shape."""
