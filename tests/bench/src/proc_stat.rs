//! A process's CPU time and memory from `/proc/<pid>/stat` and `/proc/<pid>/status`: how the
//! suite charges server CPU per delivery honestly even when the load generator is the limit.

use thiserror::Error;

/// Kernel clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on).
const TICKS_PER_SECOND: u64 = 100;

/// Why a process could not be sampled.
#[derive(Debug, Error)]
pub enum ProcError {
    /// The file could not be read (the process is gone).
    #[error("reading /proc for pid {pid}: {source}")]
    Io {
        /// The process.
        pid: u32,
        /// The failure.
        source: std::io::Error,
    },
    /// The file did not have the expected shape.
    #[error("unexpected /proc/{pid} contents: {what}")]
    Malformed {
        /// The process.
        pid: u32,
        /// What was missing.
        what: &'static str,
    },
}

/// One sample of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcSample {
    /// User plus system CPU time, µs (10 ms resolution).
    pub cpu_us: u64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

/// Samples process `pid`.
pub fn sample(pid: u32) -> Result<ProcSample, ProcError> {
    let read = |file: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .map_err(|source| ProcError::Io { pid, source })
    };
    let cpu_us = parse_cpu_us(&read("stat")?).ok_or(ProcError::Malformed {
        pid,
        what: "utime and stime in stat",
    })?;
    let rss_bytes = parse_rss(&read("status")?).ok_or(ProcError::Malformed {
        pid,
        what: "VmRSS in status",
    })?;
    Ok(ProcSample { cpu_us, rss_bytes })
}

/// utime + stime of a `stat` line, µs. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its closing parenthesis.
pub fn parse_cpu_us(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * (1_000_000 / TICKS_PER_SECOND))
}

/// VmRSS of a `status` file, bytes.
pub fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_name() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0 1000 1000000 500 18446744073709551615";
        assert_eq!(parse_cpu_us(stat), Some(3_250_000));
        assert_eq!(parse_cpu_us("garbage"), None);
        assert_eq!(parse_cpu_us("1 (x) S 1"), None);
    }

    #[test]
    fn rss_from_status() {
        let status = "Name:\therald\nVmPeak:\t  9000 kB\nVmRSS:\t    1536 kB\nThreads:\t3\n";
        assert_eq!(parse_rss(status), Some(1536 * 1024));
        assert_eq!(parse_rss("Name: x"), None);
    }

    #[test]
    fn samples_this_process() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss_bytes > 0);
    }
}
