//! A child process that prints one JSON event per stdout line and reads JSON commands on
//! stdin: the common part of the JavaScript and Python client drivers.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A running driver process, killed when dropped.
pub struct Driver {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<Value>,
    seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
}

impl Driver {
    /// Spawns `command` with piped stdio and starts reading its events and stderr.
    pub fn spawn(name: &str, mut command: Command) -> Self {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn the {name} driver: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let (sender, events) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({"event": "unparsed", "line": line}));
                if sender.send(event).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut chunk = [0u8; 4096];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&chunk[..n]).into_owned();
                sink.lock().expect("stderr buffer").push_str(&text);
            }
        });
        Self {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            events,
            seen: Vec::new(),
            stderr,
        }
    }

    /// The next event, or `None` when none arrives within `timeout` or the driver ended.
    pub fn next_event(&mut self, timeout: Duration) -> Option<Value> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => {
                self.seen.push(event.clone());
                Some(event)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The first event matching `predicate` within `timeout`, dropping the others on the way.
    ///
    /// Panics with every event seen and the driver's stderr when none matches.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.next_event(remaining) {
                Some(event) if predicate(&event) => return event,
                Some(_) => {}
                None => panic!(
                    "{} driver: no event matching {what} within {timeout:?}\nevents seen: {:#?}\nstderr:\n{}",
                    self.name,
                    self.seen,
                    self.stderr()
                ),
            }
        }
    }

    /// The next event whose `"event"` field is `kind`.
    pub fn wait_for_event(&mut self, kind: &str, timeout: Duration) -> Value {
        self.wait_for(&format!("event {kind:?}"), timeout, |e| e["event"] == kind)
    }

    /// Writes one JSON command line to the driver's stdin.
    pub fn command(&mut self, command: &Value) {
        let stdin = self.stdin.as_mut().expect("driver stdin still open");
        let mut line = command.to_string();
        line.push('\n');
        stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("write to the {} driver: {e}", self.name));
    }

    /// Closes the driver's stdin (drivers stop on end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Every event received so far.
    pub fn seen(&self) -> &[Value] {
        &self.seen
    }

    /// What the driver wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
