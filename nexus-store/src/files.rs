//! Files and folders the store creates are its user's only (0600 and 0700 on Unix), set
//! explicitly rather than left to the process's umask: the database holds sessions and
//! personal data, the key file the master key.

use std::path::Path;

/// Creates `dir` and its missing parents; those it creates are private (0700 on Unix). An
/// existing folder is left as it is.
///
/// # Errors
/// As [`std::fs::DirBuilder::create`].
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates `path` empty and private (0600 on Unix) unless it exists; an existing file is
/// left as it is.
///
/// # Errors
/// As [`std::fs::OpenOptions::open`], except that the file already existing is not one.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
