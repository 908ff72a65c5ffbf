//! The `plugway` binary; everything lives in the library.

/// mimalloc: glibc's allocator showed up as a fifth of the central system's
/// CPU under OCPP load (`perf record`, docs/benchmarks.md); mimalloc's
/// per-thread heaps cost far less for the many small, short-lived JSON values.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    plugway::main()
}
