//! The `plugway` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    plugway::main()
}
