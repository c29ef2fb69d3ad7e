//! Exchange credentials: sealed per user, never listed, re-encrypted when the master key
//! rotates.

use nexus_core::ports::accounts::Role;
use nexus_core::ports::credentials::{ApiCredentials, CredentialId};
use nexus_core::{ExchangeId, KeyPermissions, Secret, StoreError, UserId};
use nexus_store::vault::{Keyring, MasterKey};
use uuid::Uuid;

use crate::{Db, both, keys, t};

fn creds() -> ApiCredentials {
    ApiCredentials {
        api_key: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A".into(),
        secret: Secret::new("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"),
        passphrase: Some(Secret::new("pass phrase")),
    }
}

async fn user(store: &dyn nexus_store::Store, n: u128) -> UserId {
    let id = UserId::new(Uuid::from_u128(n));
    store
        .create_user(id, &format!("user{n}@example.com"), None, Role::User, t(0))
        .await
        .unwrap();
    id
}

both!(
    credentials_are_encrypted_per_user_and_never_listed,
    |db: Db| async move {
        let store = db.open(keys()).await;
        let (alice, bob) = (user(store.as_ref(), 1).await, user(store.as_ref(), 2).await);
        let perms = KeyPermissions {
            read: true,
            trade: true,
            withdraw: false,
        };
        let info = store
            .add_credentials(alice, ExchangeId::Binance, "main", &creds(), perms, t(0))
            .await
            .unwrap();
        assert_eq!(
            (
                info.masked_key.as_str(),
                info.permissions,
                info.label.as_str()
            ),
            ("vmPU…Eh8A", perms, "main")
        );
        let listed = store.list_credentials(alice).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0], info);
        assert!(!format!("{listed:?}").contains("NhqPtmd"));
        assert_eq!(
            store.credentials(alice, info.id).await.unwrap(),
            Some(creds())
        );
        assert_eq!(
            store.credentials(bob, info.id).await.unwrap(),
            None,
            "another user cannot read them"
        );
        assert!(store.list_credentials(bob).await.unwrap().is_empty());
        assert!(!store.delete_credentials(bob, info.id).await.unwrap());
        assert!(store.delete_credentials(alice, info.id).await.unwrap());
        assert_eq!(store.credentials(alice, info.id).await.unwrap(), None);
    }
);

both!(
    rotation_re_encrypts_gradually_and_both_keys_read_meanwhile,
    |db: Db| async move {
        let old = MasterKey::generate();
        let old_text = old.to_base64();
        let store = db.open(Keyring::new(old, Vec::new())).await;
        let alice = user(store.as_ref(), 1).await;
        let perms = KeyPermissions::default();
        let mut ids: Vec<CredentialId> = Vec::new();
        for label in ["a", "b", "c"] {
            ids.push(
                store
                    .add_credentials(alice, ExchangeId::Kraken, label, &creds(), perms, t(0))
                    .await
                    .unwrap()
                    .id,
            );
        }
        drop(store);

        let new = MasterKey::generate();
        let new_text = new.to_base64();
        let previous = MasterKey::from_base64(&old_text, "old").unwrap();
        let rotating = db.open(Keyring::new(new, vec![previous])).await;
        assert_eq!(rotating.stale_credentials().await.unwrap(), 3);
        assert_eq!(
            rotating.credentials(alice, ids[0]).await.unwrap(),
            Some(creds()),
            "old rows still read"
        );
        assert_eq!(rotating.rotate_keys(2, t(1)).await.unwrap(), 2);
        assert_eq!(rotating.stale_credentials().await.unwrap(), 1);
        for id in &ids {
            assert_eq!(
                rotating.credentials(alice, *id).await.unwrap(),
                Some(creds()),
                "mixed keys read"
            );
        }
        assert_eq!(rotating.rotate_keys(2, t(2)).await.unwrap(), 1);
        assert_eq!(rotating.rotate_keys(2, t(3)).await.unwrap(), 0, "done");
        drop(rotating);

        let only_new = db
            .open(Keyring::new(
                MasterKey::from_base64(&new_text, "new").unwrap(),
                Vec::new(),
            ))
            .await;
        for id in &ids {
            assert_eq!(
                only_new.credentials(alice, *id).await.unwrap(),
                Some(creds())
            );
        }
        // Without the key they were sealed under, rows are a typed error, not a panic.
        let stranger = db.open(keys()).await;
        match stranger.credentials(alice, ids[0]).await {
            Err(StoreError::Corrupt { message }) => {
                assert!(message.contains("no master key with id"), "{message}")
            }
            other => panic!("expected a corrupt-data error, got {other:?}"),
        }
    }
);
