"""Vision losses: each is an `nn.Module` called as `loss(prediction, target) -> scalar`."""
