//! The development outbox read back: one JSON file per email.

use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Clone)]
pub struct Outbox {
    pub dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The sender that writes to this outbox, for a server under test.
    pub fn sender(&self) -> std::sync::Arc<nexus_server::email::Outbox> {
        std::sync::Arc::new(nexus_server::email::Outbox::new(&self.dir))
    }

    /// Every email sent to `to`, oldest first.
    pub fn to(&self, to: &str) -> Vec<Value> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<_> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| serde_json::from_slice::<Value>(&std::fs::read(f).unwrap()).unwrap())
            .filter(|email| email["to"] == to)
            .collect()
    }

    /// The token of the newest email to `to` about `subject`, waiting up to 10 s for it:
    /// a server started with `launch` queues its emails and sends them a moment later.
    pub async fn token_when_sent(&self, to: &str, subject: &str) -> String {
        for _ in 0..100 {
            let arrived = self
                .to(to)
                .iter()
                .any(|e| e["subject"].as_str().unwrap().contains(subject));
            if arrived {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.token(to, subject)
    }

    /// The token of the link in the newest email to `to` whose subject contains `subject`.
    pub fn token(&self, to: &str, subject: &str) -> String {
        let email = self
            .to(to)
            .into_iter()
            .rev()
            .find(|e| e["subject"].as_str().unwrap().contains(subject))
            .unwrap_or_else(|| panic!("no email to {to} about {subject}"));
        for key in ["text", "html"] {
            assert!(email[key].as_str().unwrap().contains("?token="), "{key}");
        }
        let text = email["text"].as_str().unwrap();
        let start = text.find("?token=").unwrap() + "?token=".len();
        text[start..].split_whitespace().next().unwrap().to_owned()
    }
}
