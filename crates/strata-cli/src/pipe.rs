//! A closed stdout is the reader saying "enough" (`strata blocks list | head`), not an error.
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with `EPIPE`, and `print!` turns
//! that into a panic ("failed printing to stdout: Broken pipe"). [`exit_quietly_on_closed_stdout`]
//! installs a panic hook that ends the process with status 0 and no message in exactly that
//! case — the effect SIGPIPE has on other command-line tools — and leaves every other panic to
//! the default hook.

/// Installs the hook; call first thing in `main`.
pub fn exit_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
