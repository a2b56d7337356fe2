//! The numbers several modules must agree on, in one place. A number that lives here is used by
//! name everywhere; a literal copy elsewhere is a bug (the trainer's hard-negative pools and the
//! curriculum view's must be the same pools; the trainer's metrics and the CLI's must be the same
//! protocol).

/// The pin-to-pin protocol's hit rate is measured at this rank.
pub const HIT_K: usize = 10;
/// At most this many held-out pin pairs are ranked by the pin-to-pin protocol.
pub const MAX_PIN_PAIRS: usize = 20_000;
/// Rows embedded per chunk by layer-wise inference (trainer, CLI, app and teaching views alike;
/// the result does not depend on it, only peak memory does).
pub const INFER_CHUNK: usize = 8192;
/// Queries scored per chunk by top-k retrieval over all pins.
pub const RETRIEVAL_CHUNK: usize = 4096;
/// Hard negatives kept per node in the hard-negative pools (trainer and curriculum view).
pub const HARD_POOL_SIZE: usize = 16;

/// Training reads its loss back (and reports progress) at most this often, in seconds: each
/// read waits for the device to finish everything queued (`TrainConfig::log_every_steps`).
pub const LOSS_READ_INTERVAL_SECS: f64 = 0.5;

/// Graphs with at least this many nodes update PinSage's id table row-sparsely by default
/// (`TrainConfig::sparse_ids`): a 64-d table of 1 M nodes is 256 MB, which dense Adam rewrites
/// several times a step.
pub const SPARSE_IDS_MIN_NODES: usize = 1_000_000;
