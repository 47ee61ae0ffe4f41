//! Complete attachments in an S3-compatible object store (`--blob-store s3://bucket/prefix`),
//! so several relays behind one address serve the same files.
//!
//! Uploads in progress still land in the relay's blob folder ([`crate::blobs`]): the resumable
//! protocol appends chunks at offsets, which object stores cannot do. Once the last byte is
//! there and its SHA-256 checked, the file is streamed to the store in parts (8 MiB each, two
//! in flight, so memory per move stays bounded), the upload is marked complete, and only then
//! is the local copy removed. A relay that dies in between finds the local file complete and
//! moves it again (a repeated put of the same key is harmless). Downloads stream the requested
//! range from the store; the sweeper deletes objects with their rows.
//!
//! Credentials and endpoint come from the standard `AWS_*` environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` for a non-AWS
//! store, `AWS_ALLOW_HTTP=true` for a plain-HTTP one on a private network). The relay never
//! logs them.

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncReadExt;

use crate::error::{Error, Result};

/// Bytes per part of a multipart put (S3 needs at least 5 MiB per part but the last).
const PART: usize = 8 * 1024 * 1024;
/// Parts uploading at once per moved file.
const PARTS_IN_FLIGHT: usize = 2;

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("object store: {what}: {e}"))
}

/// A bucket (and key prefix) holding complete blobs, one object per blob id.
#[derive(Clone)]
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl std::fmt::Debug for ObjectBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectBlobs({})", self.store)
    }
}

impl ObjectBlobs {
    /// Connect to `url` (`s3://bucket` or `s3://bucket/prefix`), configured from `AWS_*`.
    pub fn open(url: &str) -> Result<ObjectBlobs> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::Internal(format!("--blob-store {url:?}: {e}")))?;
        if parsed.scheme() != "s3" {
            return Err(Error::Internal(format!(
                "--blob-store takes an s3:// address, not {url:?}"
            )));
        }
        // The HTTP client takes its TLS from the process's provider: ring, as the relay's own
        // TLS (installing twice is refused, harmlessly).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_url(url)
            .build()
            .map_err(|e| failed("configuration", e))?;
        Ok(ObjectBlobs {
            store: Arc::new(store),
            prefix: Path::from(parsed.path().trim_matches('/')),
        })
    }

    fn key(&self, id: &str) -> Result<Path> {
        if !tern_proto::is_blob_id(id) {
            return Err(Error::Internal(format!("not a blob id: {id:?}")));
        }
        Ok(self.prefix.clone().join(id))
    }

    /// Move the complete file at `file` to the object for `id` (streamed in parts).
    pub async fn put_file(&self, id: &str, file: &FsPath) -> Result<()> {
        let key = self.key(id)?;
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(|e| failed("start upload", e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut f = tokio::fs::File::open(file).await?;
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = f.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                return Err(failed("upload part", e));
            }
            writer.write(&buf[..n]);
        }
        writer
            .finish()
            .await
            .map_err(|e| failed("finish upload", e))?;
        Ok(())
    }

    /// Bytes `start..=end` of blob `id`, streamed.
    pub async fn stream(
        &self,
        id: &str,
        start: u64,
        end: u64,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(start..end + 1)),
            ..GetOptions::default()
        };
        let got = self
            .store
            .get_opts(&self.key(id)?, options)
            .await
            .map_err(|e| failed("read", e))?;
        Ok(got.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// The first `n` bytes of blob `id` (fewer if it is shorter).
    pub async fn head(&self, id: &str, n: u64, len: u64) -> Result<Vec<u8>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let bytes = self
            .store
            .get_range(&self.key(id)?, 0..n.min(len))
            .await
            .map_err(|e| failed("read", e))?;
        Ok(bytes.to_vec())
    }

    /// The size of blob `id` in the store, or `None` when it is not there.
    pub async fn size(&self, id: &str) -> Result<Option<u64>> {
        match self.store.head(&self.key(id)?).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed("look up", e)),
        }
    }

    /// Delete blob `id` (gone already is fine).
    pub async fn remove(&self, id: &str) -> Result<()> {
        match self.store.delete(&self.key(id)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed("delete", e)),
        }
    }

    /// Whether the store answers (for `/health`): a listing of at most one key.
    pub async fn check(&self) -> Result<()> {
        self.store
            .list(Some(&self.prefix))
            .take(1)
            .try_collect::<Vec<_>>()
            .await
            .map(|_| ())
            .map_err(|e| failed("list", e))
    }
}
