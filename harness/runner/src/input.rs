//! Reading input text within [`limits`](crate::limits): never more than the size limit
//! plus one byte (so `/dev/zero` or an endless pipe ends in an error, not in exhausted
//! memory), and text that is not UTF-8 is a located error at its first bad byte.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, LocatedError};
use crate::limits::{self, MAX_INPUT_BYTES};
use crate::yaml::Loc;

/// The text of a file, bounded and UTF-8.
pub fn read_file(path: &Path) -> Result<String, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // A regular file's length names the size in the error; a pipe's is unknown.
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    read_bounded(file, path, size)
}

/// The text of stdin, bounded and UTF-8, labelled `<stdin>`.
pub fn read_stdin() -> Result<String, Error> {
    read_bounded(std::io::stdin().lock(), Path::new("<stdin>"), None)
}

/// Read at most [`MAX_INPUT_BYTES`] (+1 to notice more) from `reader`.
pub fn read_bounded(reader: impl Read, path: &Path, size: Option<u64>) -> Result<String, Error> {
    if let Some(size) = size.filter(|s| *s > MAX_INPUT_BYTES as u64) {
        return Err(too_large(path, Some(size)));
    }
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() > MAX_INPUT_BYTES {
        // A known size over the limit returned above: this input's size is unknown (a
        // pipe) or it grew while read.
        return Err(too_large(path, None));
    }
    text(path, bytes).map_err(Error::located)
}

fn too_large(path: &Path, size: Option<u64>) -> Error {
    let err = std::io::Error::new(std::io::ErrorKind::FileTooLarge, limits::too_large(size));
    Error::io(path, err)
}

/// Bytes as text; invalid UTF-8 is an error at the first bad byte's line and column.
pub fn text(path: &Path, bytes: Vec<u8>) -> Result<String, LocatedError> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => Err(not_utf8(path, e.as_bytes(), e.utf8_error().valid_up_to())),
    }
}

fn not_utf8(path: &Path, bytes: &[u8], valid_up_to: usize) -> LocatedError {
    // The prefix is valid UTF-8 by definition, so lossy decoding keeps its offsets.
    let lossy: Arc<str> = Arc::from(String::from_utf8_lossy(bytes).as_ref());
    let prefix = &lossy[..valid_up_to];
    let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
    let loc = Loc {
        line: prefix.matches('\n').count() as u32 + 1,
        column: prefix[line_start..].chars().count() as u32 + 1,
        offset: valid_up_to,
        len: lossy[valid_up_to..]
            .chars()
            .next()
            .map_or(0, char::len_utf8),
    };
    let byte = bytes.get(valid_up_to).copied().unwrap_or_default();
    let utf16 = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
    let help = match utf16 {
        true => "the file starts with a UTF-16 byte order mark; save it as UTF-8",
        false => "YAML and JSON input must be UTF-8",
    };
    LocatedError::new(
        path,
        &lossy,
        loc,
        format!("not UTF-8: invalid byte 0x{byte:02x}"),
    )
    .with_help(Some(help.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bytes_are_located() {
        let err = text(Path::new("m.yaml"), b"a: 1\nbb: \xc3x\xff\n".to_vec()).unwrap_err();
        assert_eq!(err.to_string(), "m.yaml:2:5: not UTF-8: invalid byte 0xc3");
        let err = text(Path::new("u.yaml"), vec![0xff, 0xfe, b'a', 0]).unwrap_err();
        assert_eq!(err.to_string(), "u.yaml:1:1: not UTF-8: invalid byte 0xff");
        assert!(err.help.as_deref().unwrap().contains("UTF-16"));
        // The report renders (the span stays on a character boundary).
        assert!(format!("{:?}", err.report()).contains("invalid byte"));
    }

    #[test]
    fn reading_stops_after_the_limit() {
        let endless = std::io::repeat(b'a');
        let err = read_bounded(endless, Path::new("<pipe>"), None).unwrap_err();
        assert_eq!(err.to_string(), "<pipe>: input is over the 4 MiB limit");
        let err = read_bounded(&b""[..], Path::new("big.yaml"), Some(6_500_000)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "big.yaml: input is 6.2 MiB, over the 4 MiB limit"
        );
        let ok = read_bounded(&b"a: 1\n"[..], Path::new("x"), Some(5)).unwrap();
        assert_eq!(ok, "a: 1\n");
    }
}
