//! Memory budget checks before large allocations: an estimate is compared with the memory the
//! system has available (or the budget `PINSAGE_MEMORY_LIMIT_MIB` sets), and a clear error names
//! the need and the budget instead of an abort.

/// The environment variable that sets a memory budget in MiB (instead of the memory available).
pub const LIMIT_VAR: &str = "PINSAGE_MEMORY_LIMIT_MIB";

const MIB: f64 = (1u64 << 20) as f64;

/// Where a budget comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetSource {
    /// `MemAvailable` in /proc/meminfo.
    Available,
    /// `PINSAGE_MEMORY_LIMIT_MIB`.
    Limit,
}

impl std::fmt::Display for BudgetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BudgetSource::Available => write!(f, "the memory available now"),
            BudgetSource::Limit => write!(f, "set by {LIMIT_VAR}"),
        }
    }
}

/// An allocation that would not fit.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "{what} needs {:.1} MiB but the memory budget is {:.1} MiB ({source_of_budget})",
    *need_bytes as f64 / MIB,
    *budget_bytes as f64 / MIB
)]
pub struct OutOfMemory {
    pub what: String,
    pub need_bytes: u64,
    pub budget_bytes: u64,
    pub source_of_budget: BudgetSource,
}

/// Bytes of memory available now (`MemAvailable` in /proc/meminfo); None where it cannot be read.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The budget in bytes and where it comes from: `PINSAGE_MEMORY_LIMIT_MIB` when set to a whole
/// number, else the memory available now; None where neither is known.
pub fn budget() -> Option<(u64, BudgetSource)> {
    let limit =
        std::env::var(LIMIT_VAR).ok().and_then(|v| v.trim().parse::<u64>().ok()).map(|m| m.saturating_mul(1 << 20));
    match limit {
        Some(bytes) => Some((bytes, BudgetSource::Limit)),
        None => available_bytes().map(|bytes| (bytes, BudgetSource::Available)),
    }
}

/// Fails when `need_bytes` for `what` exceed the budget (see [`budget`]).
pub fn check(need_bytes: u64, what: &str) -> Result<(), OutOfMemory> {
    let Some((budget_bytes, source_of_budget)) = budget() else { return Ok(()) };
    if need_bytes > budget_bytes {
        return Err(OutOfMemory { what: what.to_string(), need_bytes, budget_bytes, source_of_budget });
    }
    Ok(())
}

/// `count` values of `bytes_each` bytes, saturating rather than overflowing (an estimate that
/// overflows u64 cannot fit anyway).
pub fn bytes(count: u64, bytes_each: u64) -> u64 {
    count.saturating_mul(bytes_each)
}
