//! Binary content (attachments, uploaded files; later bulk uploads and
//! results) through `object_store`: a directory under the data dir by default,
//! or any S3-compatible store so that several nodes share the same files.

use crate::StoreError;
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;

#[derive(Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// Key prefix inside the store (the URL's path for S3).
    root: String,
    /// Shown in logs and errors; never holds credentials.
    pub describe: String,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("file store: {e}"))
}

impl FileStore {
    /// `url`: `None` keeps files under `data_dir/files`; `s3://bucket[/prefix]?endpoint=…&region=…&allow_http=true`
    /// uses an S3-compatible store (credentials from the query or the usual `AWS_*` environment).
    pub fn open(data_dir: &std::path::Path, url: Option<&str>) -> Result<FileStore, StoreError> {
        match url.filter(|u| !u.is_empty()) {
            None => {
                let dir = data_dir.join("files");
                std::fs::create_dir_all(&dir).map_err(err)?;
                let fs = LocalFileSystem::new_with_prefix(&dir).map_err(err)?;
                Ok(FileStore {
                    store: Arc::new(fs),
                    root: String::new(),
                    describe: dir.display().to_string(),
                })
            }
            Some(u) if u.starts_with("s3://") => {
                let (base, query) = u.split_once('?').unwrap_or((u, ""));
                let rest = base.trim_start_matches("s3://");
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
                for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
                    b = match k {
                        "endpoint" => b.with_endpoint(v),
                        "region" => b.with_region(v),
                        "allow_http" => b.with_allow_http(v == "true"),
                        "access_key_id" => b.with_access_key_id(v),
                        "secret_access_key" => b.with_secret_access_key(v),
                        "virtual_hosted_style_request" => {
                            b.with_virtual_hosted_style_request(v == "true")
                        }
                        other => {
                            return Err(err(format!(
                                "unknown option {other} in the file store URL"
                            )))
                        }
                    };
                }
                let s3 = b.build().map_err(err)?;
                Ok(FileStore {
                    store: Arc::new(s3),
                    root: prefix.trim_matches('/').to_string(),
                    describe: format!("s3://{bucket}/{prefix}"),
                })
            }
            Some(other) => Err(err(format!(
                "unsupported file store URL {other:?}: use s3://… or leave it unset"
            ))),
        }
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.root.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.root))
        }
    }

    pub async fn put(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        self.store
            .put(&self.path(key), PutPayload::from(data))
            .await
            .map_err(err)?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match self.store.get(&self.path(key)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(err)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(err(e)),
        }
    }
}
