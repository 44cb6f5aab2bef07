"""accel serve: a model behind the Open Inference Protocol (KServe V2)."""
