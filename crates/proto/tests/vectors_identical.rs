//! `testdata/vectors/` must stay a byte-identical copy of the project's shared vectors.
//!
//! The shared directory (`../shared/vectors`, next to the repository) is not part of every clone.
//! When it is there, both trees must hold the same relative file names with the same bytes; when
//! it is not, this test prints a note and passes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every regular file below `root`, keyed by its path relative to `root` (with `/` separators).
fn collect_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let entries =
            fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .expect("path below root")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes = fs::read(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                out.insert(relative, bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn testdata_vectors_are_identical_to_shared_vectors() {
    let shared = manifest_dir().join("../../../shared/vectors");
    let local = manifest_dir().join("../../testdata/vectors");

    // The local copies must exist in every clone.
    let ours = collect_files(&local);
    assert!(
        ours.contains_key("protocomm/wifi_messages.json"),
        "testdata/vectors is missing or incomplete: {:?}",
        ours.keys()
    );

    if !shared.is_dir() {
        println!(
            "note: {} not found; skipping the comparison with the shared vectors",
            shared.display()
        );
        return;
    }
    let theirs = collect_files(&shared);

    let only_shared: Vec<&String> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let only_local: Vec<&String> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    let differing: Vec<&String> = theirs
        .iter()
        .filter(|(k, bytes)| ours.get(*k).is_some_and(|o| o != *bytes))
        .map(|(k, _)| k)
        .collect();

    assert!(
        only_shared.is_empty() && only_local.is_empty() && differing.is_empty(),
        "testdata/vectors differs from {}:\n  missing copies: {only_shared:?}\n  \
         not in shared: {only_local:?}\n  different bytes: {differing:?}\n\
         (re-copy the shared files with cp)",
        shared.display()
    );
}
