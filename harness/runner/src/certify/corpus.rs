//! The corpus hash: one SHA-256 over everything that decides what the engine is judged by
//! (the cases, the goldens, the Kyverno policies), so anyone can check that a report came
//! from the same corpus.
//!
//! Each root is given a name (`cases`, `golden`, `policy/<file name>` for a policy file
//! outside the cases folder). Every regular file under it is listed by its path relative
//! to the root's name, `/`-separated (hidden files and insta's pending `.snap.new` /
//! `.pending-snap` files are left out); the list is sorted bytewise, and for each file the
//! hash takes `path`, a NUL byte, the content's length in decimal, a NUL byte, and the
//! content. The same files give the same hash on any machine.

use std::path::{Path, PathBuf};

use ring::digest::{Context, SHA256};

/// The corpus's hash and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusHash {
    pub sha256: String,
    pub files: usize,
}

/// One named root: a folder or a file.
#[derive(Debug, Clone)]
pub struct Root {
    pub name: String,
    pub path: PathBuf,
}

/// Hash the roots (a missing root contributes nothing); the error names the file.
pub fn hash(roots: &[Root]) -> Result<CorpusHash, String> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for root in roots {
        if root.path.is_file() {
            files.push((root.name.clone(), root.path.clone()));
        } else if root.path.is_dir() {
            walk(&root.path, &root.name, &mut files)?;
        }
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    files.dedup_by(|a, b| a.0 == b.0);
    let mut context = Context::new(&SHA256);
    for (name, path) in &files {
        let content = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        context.update(name.as_bytes());
        context.update(b"\0");
        context.update(content.len().to_string().as_bytes());
        context.update(b"\0");
        context.update(&content);
    }
    Ok(CorpusHash {
        sha256: hex(context.finish().as_ref()),
        files: files.len(),
    })
}

/// The SHA-256 of one file, hex.
pub fn file_sha256(path: &Path) -> Result<String, String> {
    let content = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(hex(ring::digest::digest(&SHA256, &content).as_ref()))
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            continue;
        }
        let path = entry.path();
        let relative = format!("{prefix}/{name}");
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if kind.is_dir() {
            walk(&path, &relative, out)?;
        } else if kind.is_file() || path.is_file() {
            out.push((relative, path));
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(dir: &Path) -> Vec<Root> {
        vec![
            Root {
                name: "cases".into(),
                path: dir.join("cases"),
            },
            Root {
                name: "golden".into(),
                path: dir.join("golden"),
            },
        ]
    }

    #[test]
    fn the_hash_depends_on_paths_and_contents_only() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("cases/b")).unwrap();
        std::fs::create_dir_all(d.join("golden")).unwrap();
        std::fs::write(d.join("cases/a.yaml"), "a").unwrap();
        std::fs::write(d.join("cases/b/c.yaml"), "c").unwrap();
        std::fs::write(d.join("golden/x.snap"), "x").unwrap();
        let first = hash(&roots(d)).unwrap();
        assert_eq!(first.files, 3);
        assert_eq!(first.sha256.len(), 64);
        // Review leftovers and hidden files do not count.
        std::fs::write(d.join("golden/x.snap.new"), "y").unwrap();
        std::fs::write(d.join("cases/.swp"), "z").unwrap();
        assert_eq!(hash(&roots(d)).unwrap(), first);
        // A byte moved from one file to the next changes it (the concatenated contents are
        // the same "ac"): content boundaries are delimited.
        std::fs::write(d.join("cases/a.yaml"), "ac").unwrap();
        std::fs::write(d.join("cases/b/c.yaml"), "").unwrap();
        assert_ne!(hash(&roots(d)).unwrap().sha256, first.sha256);
    }

    #[test]
    fn a_known_corpus_has_a_known_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cases")).unwrap();
        std::fs::write(dir.path().join("cases/a"), "hi").unwrap();
        // sha256("cases/a\02\0hi")
        let expected = hex(ring::digest::digest(&SHA256, b"cases/a\x002\x00hi").as_ref());
        assert_eq!(hash(&roots(dir.path())).unwrap().sha256, expected);
        assert_eq!(
            file_sha256(&dir.path().join("cases/a")).unwrap(),
            "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
        );
    }
}
