//! The real `justiam serve` binary with its stdout and stderr captured, for tests that read what
//! the server logs (that no secret ever appears there).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::stop_gracefully;

pub struct LoggedServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// Copies each line of `pipe` into `buffer`; the first line starting with `announce` is also
/// sent (without the prefix) through `address`.
fn capture(
    pipe: impl std::io::Read + Send + 'static,
    buffer: Arc<Mutex<String>>,
    address: Option<std::sync::mpsc::Sender<String>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let (Some(tx), Some(addr)) =
                (&address, line.strip_prefix("JustIAM listening on http://"))
            {
                let _ = tx.send(addr.trim().to_owned());
            }
            let mut b = buffer.lock().expect("lock");
            b.push_str(&line);
            b.push('\n');
        }
    })
}

impl LoggedServer {
    /// Starts `justiam serve` with only `PATH` and `env` in its environment (`PORT=0` and
    /// `BIND_ADDR=127.0.0.1` are the caller's to give) and waits until it listens.
    pub fn start(env: &[(&str, String)]) -> LoggedServer {
        let mut command = Command::new(env!("CARGO_BIN_EXE_justiam"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("spawn justiam serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<String>();
        let readers = vec![
            capture(
                child.stdout.take().expect("stdout"),
                stdout.clone(),
                Some(addr_tx),
            ),
            capture(child.stderr.take().expect("stderr"), stderr.clone(), None),
        ];
        let addr = match addr_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the server did not print its address; stderr:\n{}",
                    stderr.lock().expect("lock")
                );
            }
        };
        LoggedServer {
            url: format!("http://{addr}"),
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// Stops the server (SIGTERM for a graceful stop, SIGKILL if it lingers) and returns
    /// everything it wrote: `(stdout, stderr)`.
    pub fn stop(mut self) -> (String, String) {
        stop_gracefully(&mut self.child);
        for reader in self.readers.drain(..) {
            reader.join().expect("log reader");
        }
        let stdout = self.stdout.lock().expect("lock").clone();
        let stderr = self.stderr.lock().expect("lock").clone();
        (stdout, stderr)
    }
}

impl Drop for LoggedServer {
    /// A test that panics before [`LoggedServer::stop`] leaves no server behind.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
