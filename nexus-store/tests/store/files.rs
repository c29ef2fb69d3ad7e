//! What the SQLite store creates on disk is its user's only.

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_files_and_their_folder_are_private() {
    use std::os::unix::fs::PermissionsExt;

    use nexus_core::ports::SeenSignatures;
    use nexus_core::ports::signatures::SignatureDigest;
    use nexus_store::SqliteStore;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new").join("data");
    let url = format!("sqlite://{}", data.join("nexus.db").display());
    let store = SqliteStore::open(&url, crate::keys()).await.unwrap();
    // A write, so the WAL and its index exist.
    store
        .first_sighting(&SignatureDigest([3; 32]), crate::t(0))
        .await
        .unwrap();
    let mode = |name: &str| {
        std::fs::metadata(data.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700);
    for file in ["nexus.db", "nexus.db-wal", "nexus.db-shm"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    let parent = std::fs::metadata(dir.path().join("new")).unwrap();
    assert_eq!(parent.permissions().mode() & 0o777, 0o700);
    store.close().await;
}
