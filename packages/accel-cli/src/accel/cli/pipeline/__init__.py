"""`accel pipeline run`: steps (train, compress, finetune, export, evaluate) chained by files."""
