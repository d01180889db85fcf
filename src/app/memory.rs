//! Allocator settings for gigabyte-sized frames: memory a step frees is kept for the next one
//! instead of being returned to the kernel and faulted in again.
//!
//! glibc serves every allocation above 32 MiB (one 4M-row column) with its own `mmap` and
//! unmaps it on free, and each thread allocates from its own arena, where such blocks cannot
//! live at all. Every column a step builds then costs fresh pages that the kernel must zero:
//! page clearing was a third of the CPU time of the 10M-row benchmark (`perf`,
//! `clear_page_erms`). With one arena, no `mmap` and no trimming, freed columns are reused;
//! feature + split took about 16 s instead of 19 s. Peak memory does not change, but the process
//! keeps it until it exits: a long-lived process (a scheduler daemon) should call glibc's
//! `malloc_trim(0)` between runs.

/// Keeps freed memory in the process for reuse (glibc only; other allocators are left alone).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tunables; called before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
