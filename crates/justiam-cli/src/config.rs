//! The saved login: `$XDG_CONFIG_HOME/justiam/credentials.json` (or
//! `~/.config/justiam/credentials.json`), directory mode 0700, file mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::Failure;

/// What `justiam login` keeps.
#[derive(Clone, Serialize, Deserialize)]
pub struct SavedLogin {
    pub endpoint: String,
    /// The portal JWT.
    pub token: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for SavedLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SavedLogin")
            .field("endpoint", &self.endpoint)
            .field("token", &"<redacted>")
            .field("email", &self.email)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// `$XDG_CONFIG_HOME/justiam`, else `$HOME/.config/justiam`.
pub fn config_dir() -> Result<PathBuf, Failure> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from)
        && dir.is_absolute()
    {
        return Ok(dir.join("justiam"));
    }
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(home) if home.is_absolute() => Ok(home.join(".config").join("justiam")),
        _ => Err(Failure::other(
            "cannot find the config directory: neither XDG_CONFIG_HOME nor HOME is set",
        )),
    }
}

pub fn credentials_path() -> Result<PathBuf, Failure> {
    Ok(config_dir()?.join("credentials.json"))
}

/// The saved login, if there is one.
pub fn load() -> Result<Option<SavedLogin>, Failure> {
    let path = credentials_path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::other(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Failure::other(format!(
            "{} is damaged ({e}); run `justiam logout` and log in again",
            path.display()
        ))
    })
}

/// Writes the login atomically: a private temporary file renamed over the old one.
pub fn save(login: &SavedLogin) -> Result<PathBuf, Failure> {
    let path = credentials_path()?;
    let dir = path
        .parent()
        .ok_or_else(|| Failure::other("the credentials path has no directory"))?;
    create_private_dir(dir)
        .map_err(|e| Failure::other(format!("cannot create {}: {e}", dir.display())))?;
    let text = serde_json::to_string_pretty(login)
        .map_err(|e| Failure::other(format!("cannot encode the login: {e}")))?;
    let temporary = dir.join("credentials.json.tmp");
    let write = || -> std::io::Result<()> {
        match std::fs::remove_file(&temporary) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    };
    write().map_err(|e| Failure::other(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// Forgets the saved login; `false` when there was none.
pub fn remove() -> Result<bool, Failure> {
    let path = credentials_path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::other(format!(
            "cannot remove {}: {e}",
            path.display()
        ))),
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    // An existing directory of ours is tightened too; it holds nothing but credentials.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
