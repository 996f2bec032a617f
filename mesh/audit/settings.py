"""AuditSettings: the tuning of an AuditLog (queue bounds, batching, checkpoints, retries)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """Tuning of an AuditLog. Seconds are floats.

    capacity: records held in memory at most (queued plus the batch being written); append
      raises AuditUnavailable beyond it.
    headroom: `available` goes False once capacity - headroom records are held (and True
      again below half that), leaving room for the records of calls already admitted.
    batch_max: records per write at most; also an fsync once this many records await one.
    checkpoint_every / checkpoint_interval: a checkpoint after that many records or that many
      seconds since the last one, whichever comes first, and only when records were added.
    batch_linger: how long the writer waits for more records after the first one before writing
      a batch (group commit); 0 writes each record as soon as the writer sees it. An accepted
      record waits in memory about that long (up to twice it when no call follows to wake
      the writer): a crash of the process can lose that much (close() on SIGTERM loses
      nothing).
    sync_interval: the longest a written record waits for its fsync (a checkpoint, close() and
      `batch_max` waiting records fsync at once). Written records survive a crash of the
      process; a crash of the machine can lose this much more. Each fsync costs a thread
      round trip and the fsync itself, a few hundred µs of CPU, so this is the main knob on
      CPU per exchange at moderate rates. 0 fsyncs every batch before the next one.
    retry_initial / retry_max: backoff between attempts while the log cannot be written.
    """

    capacity: int = 10_000
    headroom: int = 1_000
    batch_max: int = 1_000
    checkpoint_every: int = 1_000
    checkpoint_interval: float = 10.0
    batch_linger: float = 0.1
    sync_interval: float = 0.5
    retry_initial: float = 0.05
    retry_max: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.headroom < self.capacity:
            raise ValueError("headroom must be between 0 and capacity")
        if self.batch_max < 1 or self.checkpoint_every < 1:
            raise ValueError("batch_max and checkpoint_every must be at least 1")
        if self.checkpoint_interval <= 0 or not 0 < self.retry_initial <= self.retry_max:
            raise ValueError("checkpoint_interval and the retry delays must be positive")
        if self.batch_linger < 0 or self.sync_interval < 0:
            raise ValueError("batch_linger and sync_interval cannot be negative")
