"""Batched, seeded, device-agnostic input transforms.

A transform takes `images` (N, C, H, W) or a pair `(images, target)` and returns the same
structure. Targets: class indices (N,), class probabilities (N, K), or dense maps aligned with
the images, (N, H, W) or (N, C', H, W), which follow every geometric change.
"""
