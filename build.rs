//! Embeds libtorch's library directory as an rpath so `pmflow` and the test binaries run
//! without LD_LIBRARY_PATH (torch-sys, `links = "tch"`, exports it as DEP_TCH_LIBTORCH_LIB),
//! and a fingerprint of the source code for the step cache.

use std::hash::{Hash, Hasher};
use std::path::Path;

fn main() {
    link_libtorch();
    // The step cache must not reuse outputs of different code with the same version number
    // (a development build, a patched release): its key includes this fingerprint.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let mut files = Vec::new();
    collect(Path::new("src"), &mut files);
    files.push(Path::new("Cargo.lock").to_path_buf());
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in files {
        file.hash(&mut hasher);
        std::fs::read(&file).unwrap_or_default().hash(&mut hasher);
    }
    println!("cargo:rustc-env=PMFLOW_CODE_FINGERPRINT={:016x}", hasher.finish());
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn link_libtorch() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        // Resolve links (.venv points into a cache outside the clone) so the binary keeps
        // working when the clone moves or is deleted.
        let dir = std::fs::canonicalize(&dir)
            .map(|p| p.display().to_string())
            .unwrap_or(dir);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        link_cuda(&dir);
    }
}

/// `PMFLOW_CUDA=1`: link libtorch_cuda although pmflow references none of its symbols. The
/// linker's default --as-needed drops it, and then libtorch never sees a GPU (tch-rs #980).
/// Opt-in, because on CPU hosts loading the CUDA libraries costs 1.3-2.5 s and ~0.5 GB per run.
fn link_cuda(dir: &str) {
    println!("cargo:rerun-if-env-changed=PMFLOW_CUDA");
    if std::env::var("PMFLOW_CUDA").as_deref() != Ok("1") {
        return;
    }
    if Path::new(dir).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    } else {
        println!(
            "cargo:warning=PMFLOW_CUDA=1, but {dir} has no libtorch_cuda.so (scripts/setup.sh installs the CPU libraries only; install the full torch wheel); building without CUDA"
        );
    }
}
