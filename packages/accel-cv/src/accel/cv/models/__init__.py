"""Vision models. Every activation module is used once per forward (no shared ReLU), so int8
quantizers and module fusion accept them."""
