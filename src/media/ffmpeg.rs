//! Runs the system `ffmpeg` for the conversions the image crate cannot do (audio to
//! Opus/OGG for voice notes, GIF to MP4). Input and output go through files in a private
//! temp directory (ffmpeg needs seekable output for MP4); the process has a time limit and
//! is killed when it runs over or when the request is dropped. A small semaphore keeps
//! concurrent conversions from starving the rest of the gateway of CPU.
//!
//! Owns invoking ffmpeg; does not decide what to convert (the send routes do).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

/// Where ffmpeg is and how long one run may take.
#[derive(Debug, Clone, PartialEq)]
pub struct FfmpegConfig {
    /// `WAREST_FFMPEG_PATH`; None: look `ffmpeg` up on PATH.
    pub path: Option<PathBuf>,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FfmpegError {
    #[error("ffmpeg is not available ({0}); install it or set WAREST_FFMPEG_PATH")]
    Missing(String),
    #[error("could not be converted: {0}")]
    Failed(String),
    #[error("conversion took longer than {0} ms (WAREST_FFMPEG_TIMEOUT_MS)")]
    Timeout(u128),
}

/// Two conversions at once: the machines this runs on are small, and each ffmpeg may
/// use every core.
static SLOTS: Semaphore = Semaphore::const_new(2);

/// Longest stderr kept for an error message.
const MAX_STDERR: usize = 16 * 1024;

impl FfmpegConfig {
    /// The executable to run: the configured path, else `ffmpeg` found on PATH.
    fn program(&self) -> Result<PathBuf, FfmpegError> {
        if let Some(p) = &self.path {
            return if p.is_file() {
                Ok(p.clone())
            } else {
                Err(FfmpegError::Missing(format!("{} does not exist", p.display())))
            };
        }
        #[expect(clippy::disallowed_methods, reason = "finding a program on PATH, as a shell would; not configuration")]
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|dir| dir.join("ffmpeg"))
            .find(|p| p.is_file())
            .ok_or_else(|| FfmpegError::Missing("no ffmpeg on PATH".into()))
    }

    /// The first line of `ffmpeg -version` (for the health check), within `limit`.
    pub async fn version(&self, limit: Duration) -> Result<String, FfmpegError> {
        let program = self.program()?;
        let mut cmd = tokio::process::Command::new(&program);
        cmd.arg("-version").stdin(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
        let out = match tokio::time::timeout(limit, cmd.output()).await {
            Ok(r) => r.map_err(|e| FfmpegError::Missing(format!("{}: {e}", program.display())))?,
            Err(_) => return Err(FfmpegError::Timeout(limit.as_millis())),
        };
        if !out.status.success() {
            return Err(FfmpegError::Failed(format!("`ffmpeg -version` exited with {}", out.status)));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.lines().next().unwrap_or_default().trim().to_string())
    }

    /// Converts `input` (written as `in.<in_ext>`) with `args` between the input and the
    /// output file `out.<out_ext>`, and returns the output's bytes.
    pub async fn convert(
        &self,
        input: &[u8],
        in_ext: &str,
        args: &[&str],
        out_ext: &str,
    ) -> Result<Vec<u8>, FfmpegError> {
        let out = format!("out.{out_ext}");
        let dir = self.run(input, in_ext, args, &out).await?;
        let out =
            tokio::fs::read(dir.path().join(out)).await.map_err(|e| FfmpegError::Failed(format!("no output: {e}")))?;
        if out.is_empty() {
            return Err(FfmpegError::Failed("ffmpeg produced no output".into()));
        }
        Ok(out)
    }

    /// Runs ffmpeg on `input` (written as `in.<in_ext>`) with `args` between the input and
    /// the output `out_name` (a pattern like `out%02d.png` for several files), and hands
    /// back the temp directory holding the output.
    async fn run(
        &self,
        input: &[u8],
        in_ext: &str,
        args: &[&str],
        out_name: &str,
    ) -> Result<tempfile::TempDir, FfmpegError> {
        let program = self.program()?;
        let _slot = SLOTS.acquire().await.map_err(|_| FfmpegError::Failed("converter closed".into()))?;
        let dir = tempfile::tempdir().map_err(|e| FfmpegError::Failed(format!("temp dir: {e}")))?;
        let src = dir.path().join(format!("in.{in_ext}"));
        let dst = dir.path().join(out_name);
        tokio::fs::write(&src, input).await.map_err(|e| FfmpegError::Failed(format!("temp file: {e}")))?;

        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i"])
            .arg(&src)
            .args(args)
            // Bit-exact output: the same input gives the same bytes, so a retried request
            // with the same Idempotency-Key matches the first one.
            .args(["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"])
            .arg(&dst)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                FfmpegError::Missing(format!("{}: {e}", program.display()))
            }
            _ => FfmpegError::Failed(format!("ffmpeg did not start: {e}")),
        })?;
        let mut stderr = child.stderr.take();
        let run = async {
            let mut err = Vec::new();
            if let Some(s) = stderr.as_mut() {
                // Read to the end (so ffmpeg never blocks on a full pipe) but keep only the start.
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) if err.len() < MAX_STDERR => err.extend_from_slice(&buf[..n]),
                        Ok(_) => {}
                    }
                }
            }
            (child.wait().await, err)
        };
        let (status, err) = match tokio::time::timeout(self.timeout, run).await {
            Ok(done) => done,
            // Returning drops the child, and kill_on_drop kills it.
            Err(_) => return Err(FfmpegError::Timeout(self.timeout.as_millis())),
        };
        let status = status.map_err(|e| FfmpegError::Failed(format!("ffmpeg: {e}")))?;
        if !status.success() {
            let text = String::from_utf8_lossy(&err);
            let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("ffmpeg failed");
            return Err(FfmpegError::Failed(last.trim().chars().take(300).collect()));
        }
        Ok(dir)
    }

    /// Up to `count` stills of a video as PNGs at full size, evenly spaced from the start
    /// over `seconds` (the duration, when known; else only the first frame is taken). One
    /// ffmpeg pass; a short video may yield fewer stills than asked.
    pub async fn stills(&self, input: &[u8], count: u32, seconds: Option<u32>) -> Result<Vec<Vec<u8>>, FfmpegError> {
        let count = match seconds {
            Some(s) if s > 0 => count.max(1),
            _ => 1,
        };
        let rate = format!("fps={count}/{}", seconds.unwrap_or(1).max(1));
        let frames = count.to_string();
        let mut args = vec!["-an", "-sn", "-map", "0:v:0"];
        if count > 1 {
            args.extend(["-vf", rate.as_str()]);
        }
        args.extend(["-frames:v", frames.as_str(), "-f", "image2", "-c:v", "png"]);
        let dir = self.run(input, "video", &args, "out%02d.png").await?;
        let mut out = Vec::new();
        for i in 1..=count {
            match tokio::fs::read(dir.path().join(format!("out{i:02}.png"))).await {
                Ok(b) if !b.is_empty() => out.push(b),
                _ => break,
            }
        }
        if out.is_empty() {
            return Err(FfmpegError::Failed("no video frame could be read".into()));
        }
        Ok(out)
    }

    /// Any audio to a mono Opus voice note in an Ogg container, as WhatsApp's apps record them.
    pub async fn to_voice_note(&self, input: &[u8]) -> Result<Vec<u8>, FfmpegError> {
        self.convert(
            input,
            "bin",
            &["-vn", "-map", "0:a:0", "-c:a", "libopus", "-b:a", "32k", "-ac", "1", "-ar", "48000", "-f", "ogg"],
            "ogg",
        )
        .await
    }

    /// A small JPEG of a video's first frame, for the preview WhatsApp shows before the
    /// download. None when ffmpeg is missing or fails: a video is still sent without one.
    pub async fn video_thumbnail(&self, input: &[u8]) -> Option<Vec<u8>> {
        let args = ["-an", "-frames:v", "1", "-vf", "scale=72:72:force_original_aspect_ratio=decrease", "-f", "image2"];
        match self.convert(input, "mp4", &args, "jpg").await {
            Ok(jpeg) => Some(jpeg),
            Err(e) => {
                tracing::debug!(error = %e, "video sent without a preview");
                None
            }
        }
    }

    /// A GIF to a silent H.264 MP4 that phones play inline (even dimensions, yuv420p,
    /// moov atom first).
    pub async fn gif_to_mp4(&self, input: &[u8]) -> Result<Vec<u8>, FfmpegError> {
        self.convert(
            input,
            "gif",
            &[
                "-an",
                "-vf",
                "scale=trunc(iw/2)*2:trunc(ih/2)*2",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
            ],
            "mp4",
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_ffmpeg_is_named() {
        let cfg = FfmpegConfig { path: Some("/nonexistent/ffmpeg".into()), timeout: Duration::from_secs(5) };
        let err = cfg.to_voice_note(b"x").await.unwrap_err();
        assert!(matches!(&err, FfmpegError::Missing(m) if m.contains("/nonexistent/ffmpeg")), "{err}");
    }

    #[tokio::test]
    async fn a_hanging_ffmpeg_is_killed_at_the_time_limit() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("ffmpeg");
        let pid_file = dir.path().join("pid");
        std::fs::write(&fake, format!("#!/bin/sh\necho $$ > {}\nexec sleep 30\n", pid_file.display())).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cfg = FfmpegConfig { path: Some(fake), timeout: Duration::from_millis(500) };
        assert_eq!(cfg.gif_to_mp4(b"GIF89a").await.unwrap_err(), FfmpegError::Timeout(500));
        // The process is gone: kill_on_drop sent SIGKILL, and the runtime reaps it.
        let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
        let mut gone = false;
        for _ in 0..100 {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Absent, or a zombie waiting to be reaped, means it no longer runs.
            if state.is_empty() || state.split_whitespace().nth(2) == Some("Z") {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(gone, "ffmpeg {pid} still runs after the timeout");
    }

    #[tokio::test]
    async fn garbage_input_is_a_failed_conversion() {
        let cfg = FfmpegConfig { path: None, timeout: Duration::from_secs(30) };
        if crate::testing::require::ffmpeg().is_none() {
            return;
        }
        let err = cfg.to_voice_note(b"definitely not audio").await.unwrap_err();
        assert!(matches!(err, FfmpegError::Failed(_)), "{err}");
    }
}
