//! Finding the `herald` binary that cargo built next to the test executable.

use std::env;
use std::path::PathBuf;

/// The name of the server binary.
const BINARY: &str = "herald";

/// The path of `target/<profile>/herald`, found by walking up from the running test binary.
///
/// Panics with a hint on how to build it when it is missing. `HERALD_BIN` overrides the
/// search.
pub fn herald_binary() -> PathBuf {
    if let Some(explicit) = env::var_os("HERALD_BIN") {
        return PathBuf::from(explicit);
    }
    let exe = env::current_exe().expect("path of the running test executable");
    let mut dir = exe.parent().map(PathBuf::from);
    while let Some(candidate_dir) = dir {
        let candidate = candidate_dir.join(BINARY);
        if candidate.is_file() {
            return candidate;
        }
        dir = candidate_dir.parent().map(PathBuf::from);
    }
    panic!(
        "no `{BINARY}` binary found in any parent directory of {}: build it with cargo build -p herald-node",
        exe.display()
    );
}

/// The directory of this crate (`tests/`), where `js/` and `py/` live.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
