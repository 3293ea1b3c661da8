//! The calling thread's CPU time, for rates that other processes on a busy machine do not
//! lower: the decode baseline of `strata loadgen --mode decode` and the `block_write` example.
//! Linux only (`/proc/thread-self/schedstat`: nanoseconds on a CPU, then wait time, then
//! time slices); `None` elsewhere or when the file cannot be read.

/// Nanoseconds the calling thread has run on a CPU.
pub fn thread_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
