//! Embeds libtorch's library directory as an rpath so `pmflow` and the test binaries run
//! without LD_LIBRARY_PATH. torch-sys (`links = "tch"`) exports it as DEP_TCH_LIBTORCH_LIB.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        // Resolve links (.venv points into a cache outside the clone) so the binary keeps
        // working when the clone moves or is deleted.
        let dir = std::fs::canonicalize(&dir)
            .map(|p| p.display().to_string())
            .unwrap_or(dir);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
