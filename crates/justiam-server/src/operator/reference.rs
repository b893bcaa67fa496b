//! `docs/configuration.md` is generated from the clap definition of `justiam serve`, so it cannot
//! drift: the test `config_reference` fails when the committed file differs, and
//! `JUSTIAM_UPDATE_DOCS=1 cargo test -p justiam-server --bin justiam config_reference` rewrites it.

use std::fmt::Write;
use std::path::PathBuf;

use clap::CommandFactory;

const REGENERATE: &str =
    "JUSTIAM_UPDATE_DOCS=1 cargo test -p justiam-server --bin justiam config_reference";

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The `serve` command with every environment value hidden, so the output does not depend on
/// the environment the test runs in (it equals `justiam serve --help` in an empty environment).
fn serve_command() -> clap::Command {
    let mut root = crate::Cli::command()
        .mut_args(|a| a.hide_env_values(true))
        .mut_subcommand("serve", |s| s.mut_args(|a| a.hide_env_values(true)));
    root.build();
    root.find_subcommand("serve")
        .cloned()
        .expect("justiam has a serve subcommand")
}

/// Ids of the `serve` arguments whose values `--help` never shows (secrets).
fn secret_ids() -> Vec<String> {
    let mut root = crate::Cli::command();
    root.build();
    root.find_subcommand("serve")
        .map(|serve| {
            serve
                .get_arguments()
                .filter(|a| a.is_hide_env_values_set())
                .map(|a| a.get_id().to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn render() -> String {
    let secrets = secret_ids();
    let mut serve = serve_command();
    let mut out = String::new();
    out.push_str("# Configuration reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the clap definition of `justiam serve`; do not edit by hand.\n     \
         Regenerate with: {REGENERATE} -->\n"
    );
    out.push_str(
        "Every setting of `justiam serve` is a command-line flag and an environment variable. A flag \
         wins over the environment variable, which wins over the default. `justiam migrate` and \
         `justiam backup` read `DATABASE_URL` (and `DB_MAX_CONNECTIONS`) the same way. Values of \
         settings marked secret are never printed by `--help`.\n\n",
    );
    out.push_str("| Environment variable | Flag | Default | Meaning |\n|---|---|---|---|\n");
    for arg in serve.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let env = arg
            .get_env()
            .map(|e| format!("`{}`", e.to_string_lossy()))
            .unwrap_or_else(|| "—".to_owned());
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = if defaults.is_empty() {
            "none".to_owned()
        } else {
            format!("`{}`", defaults.join(","))
        };
        let meaning = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| format!("`{}`", v.get_name()))
            .collect();
        let mut meaning = meaning.trim().to_owned();
        if !meaning.is_empty() && !meaning.ends_with('.') {
            meaning.push('.');
        }
        if !values.is_empty() {
            let _ = write!(meaning, " One of {}.", values.join(", "));
        }
        if secrets.iter().any(|id| id == arg.get_id().as_str()) {
            meaning.push_str(" **Secret.**");
        }
        let _ = writeln!(
            out,
            "| {env} | `--{long}` | {default} | {} |",
            cell(&meaning)
        );
    }
    out.push_str(
        "\n## `justiam serve --help`\n\n(Values of environment variables are hidden here.)\n\n```text\n",
    );
    let help = serve.render_help().to_string();
    for line in help.trim_end().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

#[test]
fn config_reference() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let expected = render();
    if std::env::var("JUSTIAM_UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, &expected).expect("write docs/configuration.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "docs/configuration.md does not match `justiam serve --help`; regenerate it with:\n    {REGENERATE}"
    );
}
