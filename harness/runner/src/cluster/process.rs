//! The processes and files a run starts and writes for itself: etcd, kube-apiserver and
//! engines under test, their logs, ports and credentials. Every child dies with the
//! thread that started it (Linux), and is stopped with SIGTERM, then SIGKILL.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a stop signal reaches: the child alone, or its own process group (an engine
/// started through `sh -c` may fork helpers of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Process,
    Group,
}

/// A loopback port free at the time of asking.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// Write a key or credential file readable by its owner only (created so, never widened).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// Start `command` with its output in `log`, dying with the thread that started it;
/// `what` names it in errors.
pub fn spawn(mut command: Command, log: &Path, reach: Reach, what: &str) -> Result<Child, String> {
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    command.stdin(Stdio::null()).stdout(out).stderr(err);
    #[cfg(unix)]
    if reach == Reach::Group {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    die_with_parent(&mut command);
    command
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))
}

#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only calls
    // async-signal-safe prctl(2).
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_: &mut Command) {}

/// SIGTERM to what `reach` names, a moment to exit, then SIGKILL; reaped either way.
pub fn terminate(child: &mut Child, reach: Reach) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    signal(child, reach, libc::SIGTERM);
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if reach == Reach::Group {
        signal(child, reach, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn signal(child: &Child, reach: Reach, signal: i32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // A child started with process_group(0) leads a group whose id is its pid.
        let target = match reach {
            Reach::Process => pid,
            Reach::Group => -pid,
        };
        // SAFETY: kill(2) on our own child, or on the process group it leads.
        unsafe {
            libc::kill(target, signal);
        }
    }
}

/// The last 15 lines of a log, for an error message.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_owner_only_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_private(&path, "a longer first text").unwrap();
        write_private(&path, "short").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "short");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_group_is_stopped_with_its_helpers_and_logs_are_tailed() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let helper_pid = dir.path().join("helper.pid");
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!(
            "sleep 60 & echo $! > {}; echo started; wait",
            helper_pid.display()
        ));
        let mut child = spawn(command, &log, Reach::Group, "a test group").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let helper = loop {
            match std::fs::read_to_string(&helper_pid) {
                Ok(pid) if pid.ends_with('\n') => break pid.trim().to_owned(),
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => panic!("the helper never started"),
            }
        };
        terminate(&mut child, Reach::Group);
        // Gone, or a zombie waiting for init to reap it: either way no longer running.
        let state = std::fs::read_to_string(format!("/proc/{helper}/stat")).unwrap_or_default();
        let running = state
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'));
        assert!(!running, "the helper outlived terminate: {state}");
        assert_eq!(log_tail(&log), "started");
    }
}
