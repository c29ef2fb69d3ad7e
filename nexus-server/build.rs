//! Records the commit the server is built from, for `nexus_build_info` in `/metrics`.

use std::process::Command;

fn main() {
    // A build without the git history (a container build whose context leaves `.git`
    // out) is told the commit by `NEXUS_BUILD_COMMIT`.
    let given = std::env::var("NEXUS_BUILD_COMMIT")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let commit = given
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|out| out.status.success())
                .and_then(|out| String::from_utf8(out.stdout).ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=NEXUS_BUILD_COMMIT={commit}");
    // A new commit or checkout rebuilds the label; nothing else does.
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
    println!("cargo:rerun-if-env-changed=NEXUS_BUILD_COMMIT");
}
