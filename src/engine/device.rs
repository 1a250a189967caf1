//! Which device burn runs on. `Auto`: the wgpu backend when an adapter that is a real GPU
//! exists, else the CPU backend (burn's `flex`) — a software adapter such as lavapipe/llvmpipe
//! is slower than `flex` and is said plainly, never passed off as a GPU.

use burn::tensor::Device;
use serde::Serialize;

use super::EngineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    Auto,
    Wgpu,
    Cpu,
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] =
        [BackendChoice::Auto, BackendChoice::Wgpu, BackendChoice::Cpu];

    pub fn from_name(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Wgpu => "wgpu",
            Self::Cpu => "cpu",
        }
    }
}

impl std::fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BackendChoice {
    type Err = String;

    /// `auto`, `wgpu` (or `gpu`), `cpu` (or `flex`), in any case.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "wgpu" | "gpu" => Ok(Self::Wgpu),
            "cpu" | "flex" => Ok(Self::Cpu),
            _ => Err(format!("unknown backend '{s}': auto, wgpu or cpu")),
        }
    }
}

/// The kind of backend a job runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Wgpu,
    Cpu,
}

/// `info.kind == "cpu"`: a kind equals its name.
impl PartialEq<&str> for BackendKind {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cpu => "cpu",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The backend actually used, for stderr, the app and provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendInfo {
    /// Adapter name (wgpu) or "burn flex (CPU)".
    pub name: String,
    pub kind: BackendKind,
    /// Graphics API (Vulkan, Metal, Dx12, Gl) for wgpu.
    pub api: Option<String>,
    /// The adapter's device type as wgpu reports it (DiscreteGpu, IntegratedGpu, Cpu...).
    pub device_type: Option<String>,
    /// A software rasteriser (no GPU involved).
    pub software: bool,
    /// Why this backend was chosen when it was not the one asked for.
    pub note: Option<String>,
    /// Memory the encoder may plan with: available system memory (CPU) or the adapter's
    /// largest buffer (wgpu). Batches are sized to fit it.
    pub memory: MemoryLimit,
}

/// What bounds the size of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct MemoryLimit {
    /// Bytes of memory available in all (CPU: MemAvailable).
    pub total_bytes: Option<u64>,
    /// Bytes one tensor may take (wgpu: the adapter's max_buffer_size and storage binding size).
    pub buffer_bytes: Option<u64>,
}

/// Available system memory (Linux /proc/meminfo MemAvailable), when known.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl BackendInfo {
    /// One line for stderr and the status bar.
    pub fn describe(&self) -> String {
        let mut s = match (&self.api, &self.device_type) {
            (Some(api), Some(t)) => format!("{} backend on {} ({api}, {t})", self.kind, self.name),
            _ => format!("{} backend: {}", self.kind, self.name),
        };
        if self.software && self.kind == BackendKind::Wgpu {
            s.push_str(" - a SOFTWARE adapter, not a GPU");
        }
        if let Some(n) = &self.note {
            s.push_str("; ");
            s.push_str(n);
        }
        s
    }
}

fn cpu(note: Option<String>) -> (Device, BackendInfo) {
    (
        Device::flex(),
        BackendInfo {
            name: "burn flex (CPU)".into(),
            kind: BackendKind::Cpu,
            api: None,
            device_type: None,
            software: false,
            note,
            memory: MemoryLimit {
                total_bytes: available_memory(),
                buffer_bytes: None,
            },
        },
    )
}

/// The wgpu device, initialised once per process: burn registers the runtime of a device
/// globally, so a second initialisation of the same adapter fails; every caller (the CLI, the
/// app's jobs, tests running in parallel) shares the first one.
fn wgpu() -> Result<(Device, BackendInfo), String> {
    static WGPU: std::sync::OnceLock<Result<(Device, BackendInfo), String>> =
        std::sync::OnceLock::new();
    WGPU.get_or_init(init_wgpu).clone()
}

/// Initialises wgpu on the default adapter and reports what it is.
fn init_wgpu() -> Result<(Device, BackendInfo), String> {
    let init = std::panic::catch_unwind(|| Device::wgpu_options().init_with_setup());
    let (device, setup) = match init {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return Err(format!("no wgpu adapter: {e}")),
        Err(_) => return Err("the wgpu runtime failed to start".into()),
    };
    let info = setup.adapter.get_info();
    let software = format!("{:?}", info.device_type) == "Cpu";
    let limits = setup.adapter.limits();
    let buffer = limits
        .max_buffer_size
        .min(limits.max_storage_buffer_binding_size);
    Ok((
        device,
        BackendInfo {
            name: info.name.clone(),
            kind: BackendKind::Wgpu,
            api: Some(format!("{:?}", info.backend)),
            device_type: Some(format!("{:?}", info.device_type)),
            software,
            note: None,
            memory: MemoryLimit {
                total_bytes: None,
                buffer_bytes: Some(buffer),
            },
        },
    ))
}

/// Picks the device for `choice`.
pub fn select(choice: BackendChoice) -> Result<(Device, BackendInfo), EngineError> {
    match choice {
        BackendChoice::Cpu => Ok(cpu(None)),
        BackendChoice::Wgpu => wgpu().map_err(EngineError::Device),
        BackendChoice::Auto => match wgpu() {
            Ok((_, info)) if info.software => Ok(cpu(Some(format!(
                "the only wgpu adapter, {}, is a software renderer (slower than the CPU backend); use --backend wgpu to run on it anyway",
                info.name
            )))),
            Ok(x) => Ok(x),
            Err(e) => Ok(cpu(Some(format!("{e}; running on the CPU")))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::encode::Level;

    #[test]
    fn backend_and_level_names_round_trip() {
        for b in BackendChoice::ALL {
            assert_eq!(b.to_string().parse::<BackendChoice>(), Ok(b));
        }
        assert_eq!("GPU".parse::<BackendChoice>(), Ok(BackendChoice::Wgpu));
        assert_eq!("flex".parse::<BackendChoice>(), Ok(BackendChoice::Cpu));
        let e = "tpu".parse::<BackendChoice>().expect_err("unknown");
        assert!(e.contains("tpu") && e.contains("wgpu"), "{e}");
        assert_eq!(BackendKind::Cpu, "cpu");
        assert_eq!(BackendKind::Wgpu.to_string(), "wgpu");
        for l in [Level::Sentence, Level::Word] {
            assert_eq!(l.to_string().parse::<Level>(), Ok(l));
        }
        assert!("paragraph".parse::<Level>().is_err());
    }
}
