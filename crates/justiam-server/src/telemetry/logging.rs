//! Logging to standard error: human-readable lines or one JSON object per line.
//!
//! Lines are collected in a buffer and written in one `write` call when it fills, every
//! [`FLUSH_EVERY`], or at once for warnings and errors. One `write` per request (the access line)
//! was a system call, a lock taken on stderr and often a context switch for every request; a
//! writer thread fed through a channel saved the call but needed a wake-up per line instead.
//! The price: an informational line may reach the log up to [`FLUSH_EVERY`] late, and if the
//! process is killed (SIGKILL) the lines of that last moment are lost. A graceful stop, a panic and
//! the end of `main` (dropping [`LogGuard`]) flush everything.
//!
//! `LOG_LEVEL` is a level or a list of `target=level` directives (`info,justiam_core=debug`),
//! read by `tracing-subscriber`'s `Targets` filter. Its `EnvFilter` would also take span and field
//! directives, but it takes a lock shared by all threads on every entry into and exit from a span
//! — several times per request, contended between the worker threads (docs/benchmarks.md).

use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogArgs, LogFormat};

/// Longest time an informational line waits in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

const BUFFER_BYTES: usize = 64 * 1024;

/// The log buffer when [`init`] installed `LOG_FORMAT=json`; unset for text, and when nothing was
/// installed (tests that start servers in process).
static JSON_LOG: OnceLock<BufferedWriter<io::Stderr>> = OnceLock::new();

/// Tells the operator something `justiam serve` says at start (where it listens, the first
/// administrator, how to create one): a plain line on stdout for people; with `LOG_FORMAT=json` a
/// line of the JSON log instead, so that every line a log shipper reads is one JSON object. Like
/// the plain line it is written whatever `LOG_LEVEL` says: a generated password is shown only here.
pub fn announce(text: &str) {
    if !write_json("INFO", text) {
        println!("{text}");
    }
}

/// Says why `justiam serve` stopped: with `LOG_FORMAT=json` the last line of the JSON log (`true`);
/// otherwise nothing is written and the caller prints its plain line (`false`).
pub fn announce_failure(text: &str) -> bool {
    write_json("ERROR", text)
}

/// Writes one line of the JSON log, as `tracing-subscriber` formats an event, and flushes it.
fn write_json(level: &str, text: &str) -> bool {
    let Some(log) = JSON_LOG.get() else {
        return false;
    };
    let line = format!(
        "{{\"timestamp\":\"{}\",\"level\":\"{level}\",\"message\":{},\"target\":\"justiam\"}}\n",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        serde_json::Value::from(text),
    );
    log.write_line(line.as_bytes());
    log.flush();
    true
}

/// Installs the global subscriber. Keep the guard for the life of the process: dropping it writes
/// out what is still buffered.
pub fn init(log: &LogArgs) -> LogGuard {
    let (filter, filter_error) = match log.log_level.parse::<Targets>() {
        Ok(filter) => (filter, None),
        Err(error) => (Targets::new().with_default(Level::INFO), Some(error)),
    };
    let buffer = BufferedWriter::new(io::stderr());
    if log.log_format == LogFormat::Json {
        let _ = JSON_LOG.set(buffer.clone());
    }
    let flushing = buffer.flush_periodically(FLUSH_EVERY);
    buffer.flush_on_panic();
    // Colours only on a terminal: escape codes cost ~10% of a request's instructions in the
    // access log (callgrind, docs/benchmarks.md) and are noise in log files.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !ansi {
        crate::telemetry::access_log::install(buffer.clone(), log.log_format);
    }
    // The filter decides; the builder's own level filter lets everything through to it.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_ansi(ansi)
        .with_writer(buffer.clone());
    match log.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .finish()
            .with(filter)
            .init(),
        LogFormat::Text => builder
            .fmt_fields(plain_fields())
            .finish()
            .with(filter)
            .init(),
    }
    if let Err(error) = flushing {
        // Lines still go out whenever the buffer fills, on every warning and at exit.
        tracing::warn!(%error, "cannot start the log flushing thread");
    }
    if let Some(error) = filter_error {
        tracing::warn!(
            log_level = %log.log_level,
            %error,
            "LOG_LEVEL is not a level or a list of target=level directives; logging at info"
        );
    }
    LogGuard(buffer)
}

/// Flushes the log buffer when dropped.
pub struct LogGuard(BufferedWriter<io::Stderr>);

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.0.flush();
    }
}

/// `name=value` fields without the styling machinery of the default field formatter, which costs
/// the access line more than all its other work even when colours are off.
pub(crate) fn plain_fields()
-> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    tracing_subscriber::fmt::format::debug_fn(
        |writer: &mut tracing_subscriber::fmt::format::Writer<'_>,
         field: &tracing::field::Field,
         value: &dyn std::fmt::Debug| {
            if field.name() == "message" {
                write!(writer, "{value:?}")
            } else {
                write!(writer, "{field}={value:?}")
            }
        },
    )
    .delimited(" ")
}

/// A buffer in front of `W` shared by every thread; see the module documentation.
pub struct BufferedWriter<W: Write> {
    inner: Arc<Mutex<BufWriter<W>>>,
}

impl<W: Write> Clone for BufferedWriter<W> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<W: Write + Send + 'static> BufferedWriter<W> {
    pub fn new(out: W) -> Self {
        Self {
            inner: Arc::new(Mutex::new(BufWriter::with_capacity(BUFFER_BYTES, out))),
        }
    }

    /// Writes out the buffer every `every`, from a thread that ends with the last handle.
    pub fn flush_periodically(&self, every: Duration) -> io::Result<()> {
        let weak = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("justiam-log-flush".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(every);
                    let Some(inner) = weak.upgrade() else { break };
                    let _ = lock(&inner).flush();
                }
            })
            .map(drop)
    }

    /// Writes out the buffer before the panic message, so that the lines leading to a panic are
    /// not lost if the process then aborts.
    pub fn flush_on_panic(&self) {
        let weak: Weak<Mutex<BufWriter<W>>> = Arc::downgrade(&self.inner);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // `try_lock`: the panic may have come from this thread while it held the lock.
            if let Some(inner) = weak.upgrade() {
                match inner.try_lock() {
                    Ok(mut out) => drop(out.flush()),
                    Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                        drop(poisoned.into_inner().flush())
                    }
                    Err(std::sync::TryLockError::WouldBlock) => {}
                }
            }
            previous(info);
        }));
    }

    pub fn flush(&self) {
        let _ = lock(&self.inner).flush();
    }

    /// Adds one whole informational line (written out with the buffer).
    pub fn write_line(&self, line: &[u8]) {
        let _ = lock(&self.inner).write_all(line);
    }
}

/// The buffer stays usable after a panic in another thread that held the lock.
fn lock<W: Write>(inner: &Mutex<BufWriter<W>>) -> MutexGuard<'_, BufWriter<W>> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What one event is written through: the subscriber formats a whole line, then writes it in one
/// call, under the lock.
pub struct LineWriter<'a, W: Write> {
    inner: &'a Mutex<BufWriter<W>>,
    /// Warnings and errors are written out at once.
    urgent: bool,
}

impl<W: Write> Write for LineWriter<'_, W> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut out = lock(self.inner);
        out.write_all(line)?;
        if self.urgent {
            out.flush()?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        lock(self.inner).flush()
    }
}

impl<'a, W: Write + 'a> MakeWriter<'a> for BufferedWriter<W> {
    type Writer = LineWriter<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            inner: &self.inner,
            urgent: true,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            inner: &self.inner,
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("sink").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("sink").clone()).expect("utf-8")
        }
    }

    fn log_with(writer: BufferedWriter<Sink>, emit: impl FnOnce()) {
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(plain_fields())
            .with_writer(writer)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
    }

    #[test]
    fn info_lines_wait_for_a_flush_and_warnings_do_not() {
        let sink = Sink::default();
        let writer = BufferedWriter::new(sink.clone());
        log_with(writer.clone(), || {
            tracing::info!(route = "/healthz", status = 200, "request");
        });
        assert_eq!(sink.text(), "", "an info line waits in the buffer");
        log_with(writer.clone(), || tracing::warn!("disk almost full"));
        let text = sink.text();
        assert!(text.contains("route=\"/healthz\" status=200"), "{text}");
        assert!(text.contains("WARN"), "{text}");
        assert!(
            text.find("request").expect("info line") < text.find("disk").expect("warning"),
            "lines keep their order: {text}"
        );
    }

    #[test]
    fn the_periodic_flush_writes_buffered_lines() {
        let sink = Sink::default();
        let writer = BufferedWriter::new(sink.clone());
        writer
            .flush_periodically(Duration::from_millis(10))
            .expect("flush thread");
        log_with(writer.clone(), || tracing::info!("request"));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !sink.text().contains("request") {
            assert!(std::time::Instant::now() < deadline, "never flushed");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn lines_are_written_whole_from_many_threads() {
        let sink = Sink::default();
        let writer = BufferedWriter::new(sink.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(plain_fields())
            .with_writer(writer.clone())
            .finish();
        let dispatch = tracing::Dispatch::new(subscriber);
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let dispatch = dispatch.clone();
                scope.spawn(move || {
                    tracing::dispatcher::with_default(&dispatch, || {
                        for n in 0..500 {
                            tracing::info!(thread, n, "line");
                        }
                    })
                });
            }
        });
        writer.flush();
        let text = sink.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2000);
        assert!(lines.iter().all(|l| l.contains("line thread=")), "{text}");
    }
}
