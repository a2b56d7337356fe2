//! Memory budget checks before large allocations: an estimate is compared with the memory the
//! system has available, and a clear error names the need and the budget instead of an abort.

/// An allocation that would not fit.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{what} needs {} MiB but only {} MiB of memory is available", need_bytes / (1 << 20), available_bytes / (1 << 20))]
pub struct OutOfMemory {
    pub what: String,
    pub need_bytes: u64,
    pub available_bytes: u64,
}

/// Bytes of memory available now (`MemAvailable` in /proc/meminfo); None where it cannot be read.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Fails when `need_bytes` for `what` exceed the available memory (or `PINSAGE_MEMORY_LIMIT_MIB`,
/// when set, a budget of the user's choosing).
pub fn check(need_bytes: u64, what: &str) -> Result<(), OutOfMemory> {
    let limit =
        std::env::var("PINSAGE_MEMORY_LIMIT_MIB").ok().and_then(|v| v.trim().parse::<u64>().ok()).map(|m| m << 20);
    let Some(available) = limit.or_else(available_bytes) else { return Ok(()) };
    if need_bytes > available {
        return Err(OutOfMemory { what: what.to_string(), need_bytes, available_bytes: available });
    }
    Ok(())
}
