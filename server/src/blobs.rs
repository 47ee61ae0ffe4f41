//! Attachment bytes on the relay's disk (`--blob-dir`): one file per upload, named by its
//! random id, appended to in order and never read before it is complete and its SHA-256
//! checked. The database holds who uploaded what and where each upload stands; the file's
//! length is the upload's offset, so a relay killed mid-upload resumes exactly where the disk
//! says it stopped.
//!
//! Blocking file I/O runs on tokio's blocking pool; chunks are streamed to and from disk, so
//! memory per transfer stays at one chunk whatever the file size. With `--blob-store`, complete
//! blobs move on to an S3-compatible object store shared by several relays
//! ([`crate::object_blobs`]) and this folder holds only uploads in progress.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Where blobs live.
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: PathBuf,
}

/// A new random blob id (128 bits, hex).
pub fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Blobs {
    /// Blobs under `dir` (created, private to the relay's user).
    pub fn open(dir: &Path) -> Result<Blobs> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        #[cfg(not(unix))]
        std::fs::create_dir_all(dir)?;
        Ok(Blobs {
            dir: dir.to_owned(),
        })
    }

    /// The file of blob `id` (refused unless `id` is a valid blob id).
    pub fn path(&self, id: &str) -> Result<PathBuf> {
        if !tern_proto::is_blob_id(id) {
            return Err(Error::Internal(format!("not a blob id: {id:?}")));
        }
        Ok(self.dir.join(id))
    }

    /// Bytes stored so far (0 when nothing was written).
    pub fn len(&self, id: &str) -> Result<u64> {
        match std::fs::metadata(self.path(id)?) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Append `chunk` at `offset`, which must be the current length. Returns the new length.
    pub fn append(&self, id: &str, offset: u64, chunk: &[u8]) -> Result<u64> {
        let path = self.path(id)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let len = file.metadata()?.len();
        if len != offset {
            return Err(Error::Internal(format!(
                "append at {offset} but the blob has {len} bytes"
            )));
        }
        file.write_all(chunk)?;
        Ok(len + chunk.len() as u64)
    }

    /// Make what was appended durable.
    pub fn sync(&self, id: &str) -> Result<()> {
        std::fs::File::open(self.path(id)?)?.sync_all()?;
        Ok(())
    }

    /// SHA-256 of the whole blob, lowercase hex.
    pub fn sha256(&self, id: &str) -> Result<String> {
        let mut file = std::fs::File::open(self.path(id)?)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }

    /// The first bytes, to check a declared type against the content.
    pub fn head(&self, id: &str, n: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        let mut file = std::fs::File::open(self.path(id)?)?;
        let read = file.read(&mut buf)?;
        buf.truncate(read);
        Ok(buf)
    }

    /// Read `len` bytes from `start`.
    pub fn read(&self, id: &str, start: u64, len: usize) -> Result<Vec<u8>> {
        let mut file = std::fs::File::open(self.path(id)?)?;
        file.seek(SeekFrom::Start(start))?;
        let mut buf = vec![0u8; len];
        let mut filled = 0;
        while filled < len {
            let n = file.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        Ok(buf)
    }

    /// Remove a blob (no error if it is already gone).
    pub fn remove(&self, id: &str) -> Result<()> {
        match std::fs::remove_file(self.path(id)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// [`Blobs::remove`], run on tokio's blocking pool.
    pub async fn discard(&self, id: &str) -> Result<()> {
        let (blobs, id) = (self.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || blobs.remove(&id))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// Ids of the blob files not written to for `age` or longer (other files are left alone).
    pub fn untouched_for(&self, age: std::time::Duration) -> Result<Vec<String>> {
        let now = std::time::SystemTime::now();
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !tern_proto::is_blob_id(&name) {
                continue;
            }
            // Removed since the listing (an upload completed into the object store): skip it.
            let modified = match entry.metadata().and_then(|m| m.modified()) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if now.duration_since(modified).is_ok_and(|d| d >= age) {
                out.push(name);
            }
        }
        Ok(out)
    }
}

/// Uploads a request is writing right now: a second concurrent `PATCH` of the same upload is
/// refused rather than interleaved.
#[derive(Debug, Default, Clone)]
pub struct Writing(Arc<Mutex<HashSet<String>>>);

impl Writing {
    /// Claim upload `id` for this request; `None` if another request is writing it.
    pub fn claim(&self, id: &str) -> Option<WritingGuard> {
        let mut set = self.0.lock().unwrap();
        set.insert(id.to_owned()).then(|| WritingGuard {
            set: self.clone(),
            id: id.to_owned(),
        })
    }
}

/// Held while a request writes an upload; releases it when dropped.
pub struct WritingGuard {
    set: Writing,
    id: String,
}

impl Drop for WritingGuard {
    fn drop(&mut self) {
        self.set.0.lock().unwrap().remove(&self.id);
    }
}

/// The content type to serve for a blob whose first bytes are `head` and whose uploader said
/// it is `declared`: the declared type when the bytes agree (images are checked by their
/// magic numbers), else `application/octet-stream`, so a file cannot pass itself off as
/// another kind. Text and HTML types are never served as such.
pub fn served_type(declared: &str, head: &[u8]) -> &'static str {
    const IMAGES: &[(&str, &[u8])] = &[
        ("image/png", b"\x89PNG\r\n\x1a\n"),
        ("image/jpeg", b"\xff\xd8\xff"),
        ("image/gif", b"GIF8"),
        ("image/webp", b"RIFF"),
    ];
    for (kind, magic) in IMAGES {
        if declared.eq_ignore_ascii_case(kind) {
            return if head.starts_with(magic) {
                kind
            } else {
                "application/octet-stream"
            };
        }
    }
    match declared.to_ascii_lowercase().as_str() {
        "application/pdf" if head.starts_with(b"%PDF") => "application/pdf",
        "application/zip" if head.starts_with(b"PK") => "application/zip",
        "audio/mpeg" => "audio/mpeg",
        "video/mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_only_so_no_path_can_hide_in_one() {
        assert!(tern_proto::is_blob_id(&new_id()));
        for bad in [
            "../etc/passwd",
            "ABCDEF0123456789ABCDEF0123456789",
            "",
            "a/b",
            "0123",
        ] {
            assert!(!tern_proto::is_blob_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_declared_type_is_served_only_when_the_bytes_agree() {
        assert_eq!(
            served_type("image/png", b"\x89PNG\r\n\x1a\nrest"),
            "image/png"
        );
        assert_eq!(
            served_type("image/png", b"<html><script>"),
            "application/octet-stream"
        );
        assert_eq!(
            served_type("text/html", b"<html>"),
            "application/octet-stream"
        );
        assert_eq!(
            served_type("image/svg+xml", b"<svg"),
            "application/octet-stream"
        );
    }

    #[test]
    fn appends_must_continue_where_the_blob_ends() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let id = new_id();
        assert_eq!(blobs.len(&id).unwrap(), 0);
        assert_eq!(blobs.append(&id, 0, b"hello ").unwrap(), 6);
        assert!(blobs.append(&id, 3, b"x").is_err(), "an overlapping chunk");
        assert_eq!(blobs.append(&id, 6, b"world").unwrap(), 11);
        assert_eq!(blobs.read(&id, 6, 100).unwrap(), b"world");
        assert_eq!(
            blobs.sha256(&id).unwrap(),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }
}
