"""Callbacks: objects whose hooks ``fit``/``evaluate``/``predict`` call, with Keras's names and semantics.

The hooks are those of Keras 3 (``on_train_begin``, ``on_epoch_end(epoch, logs)``,
``on_train_batch_end(batch, logs)``, ...), plus one lamina addition that keeps training fast:
:meth:`Callback.wants_batch_logs`. Reading metric values after a batch copies them from the device to
the host and waits for the step to finish; the training loop asks ``callbacks.wants_batch_logs(batch)``
first and passes ``logs=None`` when nobody needs them. A callback that overrides a batch-end hook gets
logs after every batch (as in Keras); the progress bar asks for them only when it is about to redraw.

>>> class Count(Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         print(epoch, logs)
>>> callbacks = CallbackList([Count()], epochs=1, steps=2, verbose=0)
>>> callbacks.on_train_begin()
>>> callbacks.on_epoch_end(0, {"loss": 0.5})
0 {'loss': 0.5}
>>> callbacks.wants_batch_logs(0)
False
"""

from lamina.callbacks.backup_and_restore import BackupAndRestore
from lamina.callbacks.callback import Callback
from lamina.callbacks.callback_list import CallbackList
from lamina.callbacks.csv_logger import CSVLogger
from lamina.callbacks.early_stopping import EarlyStopping
from lamina.callbacks.history import History
from lamina.callbacks.lambda_callback import LambdaCallback
from lamina.callbacks.learning_rate_scheduler import LearningRateScheduler
from lamina.callbacks.model_checkpoint import ModelCheckpoint
from lamina.callbacks.progbar_logger import ProgbarLogger
from lamina.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from lamina.callbacks.remote_monitor import RemoteMonitor
from lamina.callbacks.swap_ema_weights import SwapEMAWeights
from lamina.callbacks.tensorboard import TensorBoard
from lamina.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
    "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
    "BackupAndRestore", "TensorBoard", "RemoteMonitor", "SwapEMAWeights",
]
