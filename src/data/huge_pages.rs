//! Transparent huge pages for the large arrays that random walks read at random (the adjacency and
//! the visit counters): one 2 MiB page covers what 512 small pages would, so far fewer reads miss
//! the TLB. Linux only, and only a hint: where the kernel declines, nothing changes.

/// Arrays smaller than this stay on small pages (they fit the TLB's reach anyway).
const MIN_BYTES: usize = 8 << 20;

#[cfg(target_os = "linux")]
const HUGE_PAGE_BYTES: usize = 2 << 20;

/// `MADV_COLLAPSE` (Linux 6.1): collapse the range into huge pages now, keeping its contents.
#[cfg(target_os = "linux")]
const MADV_COLLAPSE: libc::c_int = 25;

/// Asks the kernel to back the whole 2 MiB pages inside `data` with huge pages: now for the pages
/// already written (where the kernel has `MADV_COLLAPSE`), and as later writes fault them in.
/// Returns whether the present pages were collapsed.
pub fn advise<T>(data: &[T]) -> bool {
    let bytes = std::mem::size_of_val(data);
    if bytes < MIN_BYTES {
        return false;
    }
    advise_range(data.as_ptr() as usize, bytes)
}

#[cfg(target_os = "linux")]
fn advise_range(addr: usize, bytes: usize) -> bool {
    let start = addr.next_multiple_of(HUGE_PAGE_BYTES);
    let end = (addr + bytes) / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES;
    if end <= start {
        return false;
    }
    let (ptr, len) = (start as *mut libc::c_void, end - start);
    // SAFETY: the range lies inside a live allocation of ours; both advices only change how its
    // pages are backed, never their contents, and fail harmlessly where unsupported.
    unsafe {
        libc::madvise(ptr, len, libc::MADV_HUGEPAGE);
        libc::madvise(ptr, len, MADV_COLLAPSE) == 0
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_range(_addr: usize, _bytes: usize) -> bool {
    false
}

/// Linux's transparent-huge-page mode (`always`, `madvise` or `never`), where it can be read.
pub fn mode() -> Option<String> {
    let text = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    let start = text.find('[')? + 1;
    let end = start + text[start..].find(']')?;
    Some(text[start..end].to_string())
}

/// Bytes of this process's memory on transparent huge pages (`AnonHugePages`), where readable.
pub fn process_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let line = text.lines().find(|l| l.starts_with("AnonHugePages:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
