//! Choosing the compute device: `cpu`, `cuda`, `cuda:N`, or `auto` (CUDA when a GPU and
//! libtorch's CUDA library can be loaded, else the CPU).
//!
//! A plain `tch` build links only `libtorch_cpu.so`, so CUDA is invisible until
//! `libtorch_cuda.so` is loaded into the process: [`load_cuda`] dlopens it (from `$LIBTORCH/lib`,
//! else the binary's run path) with global symbols, which registers the CUDA backend.

use anyhow::{bail, Context};
use tch::Device;

/// The CUDA library, from `$LIBTORCH/lib` if set, else by name through the run path.
fn cuda_library_candidates() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Some(lt) = std::env::var_os("LIBTORCH") {
        out.push(std::path::PathBuf::from(lt).join("lib").join("libtorch_cuda.so"));
    }
    out.push("libtorch_cuda.so".into());
    out
}

/// Load libtorch's CUDA backend into the process (once); then report whether a GPU is usable.
pub fn load_cuda() -> anyhow::Result<()> {
    static LOADED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let result = LOADED.get_or_init(|| {
        let mut errors = Vec::new();
        for candidate in cuda_library_candidates() {
            // SAFETY: loading libtorch's own CUDA library runs its static initialisers, which
            // register the CUDA backend with the already-loaded libtorch_cpu; nothing else runs.
            let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL;
            match unsafe { libloading::os::unix::Library::open(Some(&candidate), flags) } {
                Ok(lib) => {
                    std::mem::forget(lib); // keep the backend loaded for the life of the process
                    return Ok(());
                }
                Err(e) => errors.push(format!("{}: {e}", candidate.display())),
            }
        }
        Err(errors.join("; "))
    });
    match result {
        Ok(()) if tch::Cuda::is_available() => Ok(()),
        Ok(()) => bail!("libtorch_cuda.so loaded, but no CUDA device is visible (driver or GPU missing)"),
        Err(e) => bail!(
            "CUDA is not available: libtorch_cuda.so could not be loaded ({e}). It needs the CUDA \
             libraries (cuBLAS, cuDNN, ...) on LD_LIBRARY_PATH, e.g. from an installed PyTorch's \
             nvidia/*/lib folders"
        ),
    }
}

/// Parse `cpu`, `cuda`, `cuda:N` or `auto` into a device, loading CUDA when asked for.
pub fn choose(spec: &str) -> anyhow::Result<Device> {
    let spec = spec.trim().to_ascii_lowercase();
    match spec.as_str() {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(match load_cuda() {
            Ok(()) => {
                tracing::info!("device auto: cuda:0 ({} CUDA device(s) visible)", tch::Cuda::device_count());
                Device::Cuda(0)
            }
            Err(why) => {
                tracing::info!("device auto: cpu, because CUDA is not usable: {why:#}");
                Device::Cpu
            }
        }),
        "cuda" | "gpu" => {
            load_cuda()?;
            Ok(Device::Cuda(0))
        }
        _ => {
            let Some(n) = spec.strip_prefix("cuda:") else {
                bail!("unknown device {spec:?}: expected cpu, cuda, cuda:N or auto");
            };
            let n: usize = n.parse().with_context(|| format!("device {spec:?}: {n:?} is not a GPU number"))?;
            load_cuda()?;
            let count = tch::Cuda::device_count() as usize;
            if n >= count {
                bail!("device {spec:?}: only {count} CUDA device(s) (cuda:0..cuda:{})", count.saturating_sub(1));
            }
            Ok(Device::Cuda(n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices_and_names_bad_ones() {
        assert_eq!(choose("cpu").unwrap(), Device::Cpu);
        assert_eq!(choose(" CPU ").unwrap(), Device::Cpu);
        let err = choose("tpu").unwrap_err().to_string();
        assert!(err.contains("\"tpu\"") && err.contains("cpu, cuda, cuda:N or auto"), "{err}");
        let err = choose("cuda:x").unwrap_err().to_string();
        assert!(err.contains("not a GPU number"), "{err}");
        // `auto` always gives a usable device; an explicit CUDA request fails loudly without one.
        let auto = choose("auto").unwrap();
        if auto == Device::Cpu {
            let err = choose("cuda").unwrap_err().to_string();
            assert!(err.contains("CUDA"), "{err}");
        }
    }
}
