"""Callbacks react to loop events; the base class and the ordered dispatcher live in `base`.

Built-ins (each in its own module, registered in `accel.callbacks`): progress, metric_logger,
checkpoint, early_stopping, lr_monitor, system_monitor, throughput, tracker.
"""

from accel.core.callbacks.base import Callback, CallbackList

__all__ = ["Callback", "CallbackList"]
