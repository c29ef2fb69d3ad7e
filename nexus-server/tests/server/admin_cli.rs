//! `nexus migrate` and `nexus keys rotate` against a real SQLite file and, when
//! `NEXUS_TEST_POSTGRES_URL` is set, PostgreSQL.

use std::process::Command;

use chrono::Utc;
use nexus_core::ports::accounts::{Role, UserStore};
use nexus_core::ports::audit::AuditLog;
use nexus_core::ports::credentials::ApiCredentials;
use nexus_core::ports::credentials::CredentialStore;
use nexus_core::{ExchangeId, KeyPermissions, Secret, UserId};
use nexus_store::SqliteStore;
use nexus_store::vault::{Keyring, MasterKey};

use crate::support::NEXUS;

fn nexus(args: &[&str], data: &std::path::Path, vars: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(NEXUS);
    cmd.args(args)
        .env("NEXUS_DATA_DIR", data)
        .env("NEXUS_LOG", "warn")
        .env_remove("NEXUS_DATABASE_URL")
        .env_remove("NEXUS_MASTER_KEY")
        .env_remove("NEXUS_MASTER_KEY_PREVIOUS");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn migrate_creates_the_embedded_database() {
    let data = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = nexus(&["migrate"], data.path(), &[]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "nexus migrate: the sqlite database is up to date\n");
    assert!(data.path().join("nexus.db").exists());
    let (ok, _, _) = nexus(&["migrate"], data.path(), &[]);
    assert!(ok, "migrating twice is harmless");
}

#[test]
fn migrate_on_postgres_when_available() {
    let Ok(url) = std::env::var("NEXUS_TEST_POSTGRES_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped migrate_on_postgres: NEXUS_TEST_POSTGRES_URL is unset"
        );
        return;
    };
    // A schema of its own: the database's public schema may hold another branch's
    // migrations.
    let schema = crate::support::Schema::empty(&url);
    let data = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = nexus(
        &["migrate"],
        data.path(),
        &[("NEXUS_DATABASE_URL", &schema.url())],
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        "nexus migrate: the postgres database is up to date\n"
    );
    let (ok, _, stderr) = nexus(
        &["migrate"],
        data.path(),
        &[("NEXUS_DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")],
    );
    assert!(!ok);
    assert!(
        stderr.contains("cannot connect to the database"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_rotate_re_encrypts_under_the_new_key() {
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data.path().join("nexus.db").display());
    let old = MasterKey::generate();
    let old_text = old.to_base64().to_string();
    let creds = ApiCredentials {
        api_key: "key-0123456789abcdef".into(),
        secret: Secret::new("s3cret"),
        passphrase: None,
    };
    let (user, id) = {
        let store = SqliteStore::open(&url, Keyring::new(old, Vec::new()))
            .await
            .unwrap();
        let user = UserId::new(uuid::Uuid::from_u128(1));
        store
            .create_user(user, "a@x.io", None, Role::User, Utc::now())
            .await
            .unwrap();
        let info = store
            .add_credentials(
                user,
                ExchangeId::Kraken,
                "main",
                &creds,
                KeyPermissions::default(),
                Utc::now(),
            )
            .await
            .unwrap();
        store.close().await;
        (user, info.id)
    };
    let new = MasterKey::generate();
    let new_text = new.to_base64().to_string();
    let vars = [
        ("NEXUS_MASTER_KEY", new_text.as_str()),
        ("NEXUS_MASTER_KEY_PREVIOUS", old_text.as_str()),
    ];
    let (ok, stdout, stderr) = tokio::task::spawn_blocking({
        let path = data.path().to_owned();
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move || {
            let vars: Vec<(&str, &str)> =
                vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            nexus(&["keys", "rotate"], &path, &vars)
        }
    })
    .await
    .unwrap();
    assert!(ok, "{stderr}");
    assert!(
        stdout
            .ends_with("nexus keys rotate: done, 1 secret(s) re-encrypted under the current key\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("s3cret") && !stderr.contains("s3cret"));

    let store = SqliteStore::open(
        &url,
        Keyring::new(
            MasterKey::from_base64(&new_text, "new").unwrap(),
            Vec::new(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        store.credentials(user, id).await.unwrap(),
        Some(creds),
        "readable with the new key alone"
    );
    let audit = store.recent(1, None).await.unwrap();
    assert_eq!(
        audit[0].event.action,
        nexus_core::ports::audit::AuditAction::KeysRotated
    );
}
