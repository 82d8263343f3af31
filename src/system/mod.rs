//! Host and process facts for the server endpoints: CPU history, memory, disks, load.

pub mod cpu;
pub mod health;
pub mod restart;
pub mod retention;

use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryInfo {
    #[serde(rename = "totalMB")]
    pub total_mb: u64,
    #[serde(rename = "usedMB")]
    pub used_mb: u64,
    pub usage_percent: f32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInfo {
    pub pid: u32,
    #[serde(rename = "rssMB")]
    pub rss_mb: f64,
    pub uptime_seconds: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiskInfo {
    pub mount: String,
    #[serde(rename = "totalMB")]
    pub total_mb: u64,
    pub used_percent: f32,
}

pub struct Snapshot {
    pub memory: MemoryInfo,
    pub process: ProcessInfo,
    pub disks: Vec<DiskInfo>,
    pub load_average: [f64; 3],
    pub cores: usize,
}

fn percent(part: u64, whole: u64) -> f32 {
    if whole == 0 { 0.0 } else { cpu::round1(part as f32 * 100.0 / whole as f32) }
}

/// Reads memory, this process, disks and load. Blocking (it reads /proc): call it from
/// `spawn_blocking`.
pub fn snapshot(process_uptime_secs: u64) -> Snapshot {
    use sysinfo::{Disks, ProcessRefreshKind, ProcessesToUpdate, System};
    let mut sys = System::new();
    sys.refresh_memory();
    let pid = sysinfo::get_current_pid().ok();
    let mut rss = 0;
    if let Some(pid) = pid {
        sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing().with_memory(),
        );
        rss = sys.process(pid).map_or(0, |p| p.memory());
    }
    let (total, used) = (sys.total_memory(), sys.used_memory());
    let disks = Disks::new_with_refreshed_list()
        .list()
        .iter()
        .filter(|d| d.total_space() > 0)
        .map(|d| DiskInfo {
            mount: d.mount_point().display().to_string(),
            total_mb: d.total_space() / 1_048_576,
            used_percent: percent(d.total_space() - d.available_space(), d.total_space()),
        })
        .take(32)
        .collect();
    let load = System::load_average();
    Snapshot {
        memory: MemoryInfo {
            total_mb: total / 1_048_576,
            used_mb: used / 1_048_576,
            usage_percent: percent(used, total),
        },
        process: ProcessInfo {
            pid: std::process::id(),
            rss_mb: (rss as f64 / 1_048_576.0 * 10.0).round() / 10.0,
            uptime_seconds: process_uptime_secs,
        },
        disks,
        load_average: [load.one, load.five, load.fifteen],
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// Whether the data directory accepts writes (creates and removes a probe file).
pub fn data_dir_writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".warest-probe-{}", std::process::id()));
    let ok = std::fs::create_dir_all(dir).is_ok() && std::fs::write(&probe, b"ok").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

pub fn os_name() -> String {
    sysinfo::System::name().unwrap_or_else(|| std::env::consts::OS.to_string())
}

pub fn kernel_version() -> String {
    sysinfo::System::kernel_version().unwrap_or_default()
}
