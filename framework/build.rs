//! Captures the compiler version for the plugin ABI fingerprint (`w2s_core::plugin::FINGERPRINT`).

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown rustc".into());
    println!("cargo:rustc-env=W2S_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
