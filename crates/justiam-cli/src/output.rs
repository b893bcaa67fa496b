//! Rendering: aligned tables for people, the API's JSON for scripts.

use std::io::Write;

use chrono::{DateTime, Utc};
use justiam_types::Page;
use serde::Serialize;

use super::OutputFormat;
use super::error::Failure;

/// A table: a header row and data rows, printed with columns padded to their widest cell.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    let pad = widths[i] - cell.chars().count();
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a message.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::other(format!("cannot write to stdout: {e}"))),
    }
}

pub fn json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::other(format!("cannot encode JSON: {e}")))?;
    print(&format!("{text}\n"))
}

/// A single object: JSON as the API sent it, or `table` (built lazily) for people.
pub fn show<T: Serialize>(
    format: OutputFormat,
    value: &T,
    table: impl FnOnce(&T) -> String,
) -> Result<(), Failure> {
    match format {
        OutputFormat::Json => json(value),
        OutputFormat::Table => print(&table(value)),
    }
}

/// A page of a list: the envelope as JSON, or a table and a footer naming the page.
pub fn list<T: Serialize>(
    format: OutputFormat,
    page: &Page<T>,
    header: &[&'static str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<(), Failure> {
    match format {
        OutputFormat::Json => json(page),
        OutputFormat::Table => {
            let mut table = Table::new(header);
            for item in &page.data {
                table.row(row(item));
            }
            let mut text = table.render();
            let shown = page.data.len() as u64;
            let before = u64::from(page.page.saturating_sub(1)) * u64::from(page.limit);
            if page.total > shown && shown > 0 {
                text.push_str(&format!(
                    "({}–{} of {}; more with --page {})\n",
                    before + 1,
                    before + shown,
                    page.total,
                    page.page + 1
                ));
            } else if page.total > 0 && shown == 0 {
                text.push_str(&format!(
                    "(page {} is empty; {} in all)\n",
                    page.page, page.total
                ));
            }
            print(&text)
        }
    }
}

/// `key: value` lines, keys aligned.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{:<width$}  {v}\n", format!("{k}:")))
        .collect()
}

/// A message for people on stdout, skipped in JSON mode (where stdout is for data only).
pub fn note(format: OutputFormat, text: &str) -> Result<(), Failure> {
    match format {
        OutputFormat::Json => Ok(()),
        OutputFormat::Table => print(&format!("{text}\n")),
    }
}

pub fn time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn time_opt(at: Option<&DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_else(|| "never".to_owned())
}

pub fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

/// Prints a newly created token value, once.
pub fn created_token(
    format: OutputFormat,
    created: &justiam_types::CreatedToken,
) -> Result<(), Failure> {
    match format {
        OutputFormat::Json => json(created),
        OutputFormat::Table => {
            let mut pairs = vec![
                ("id", created.id.to_string()),
                ("name", created.name.clone()),
                ("expires", time(&created.expires_at)),
            ];
            if let Some(from) = created.rotated_from {
                pairs.push(("replaces", from.to_string()));
            }
            pairs.push(("token", created.token.clone()));
            print(&fields(&pairs))?;
            eprintln!(
                "justiam: warning: copy the token now; it is shown only this once and cannot be retrieved later"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let mut table = Table::new(&["ID", "NAME", "X"]);
        table.row(vec!["1".into(), "a long name".into(), "y".into()]);
        table.row(vec!["22".into(), "b".into(), "".into()]);
        assert_eq!(
            table.render(),
            "ID  NAME         X\n1   a long name  y\n22  b\n"
        );
    }

    #[test]
    fn fields_align_keys() {
        assert_eq!(
            fields(&[("id", "1".into()), ("name", "n".into())]),
            "id:    1\nname:  n\n"
        );
    }
}
