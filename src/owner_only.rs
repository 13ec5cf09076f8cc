//! Folders and files that hold the fleet's data (the state file, the lock, the reports, mail
//! written to a folder), created readable by their owner only: folders `0700`, files `0600`,
//! whatever the process's umask. What exists already is left as it is (an operator may have
//! chosen wider modes on purpose); SQLite gives its `-wal` and `-shm` files the mode of the
//! database file.

use std::io;
use std::path::Path;

/// `std::fs::create_dir_all`, each folder it creates `0700`.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates `file` empty and `0600` when it does not exist (before a library opens it with
/// its own, umask-bound mode); an existing file is left as it is.
pub fn create_file(file: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn new_folders_and_files_are_the_owners_only_existing_ones_are_left() {
        let dir = tempfile::tempdir().expect("dir");
        let deep = dir.path().join("a/b");
        create_dir_all(&deep).expect("folders");
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&deep), 0o700);
        let file = deep.join("podwarden.db");
        create_file(&file).expect("file");
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        create_file(&file).expect("again");
        assert_eq!(mode(&file), 0o640, "an existing file keeps its mode");
    }
}
