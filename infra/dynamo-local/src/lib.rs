//! The local DynamoDB. moto's DynamoDB is not safe under concurrent transactions (its rollback
//! restores a deep copy of the table over other requests' writes), so the local stack serves
//! DynamoDB from dynoxide instead: SQLite underneath, every request atomic and isolated, as
//! DynamoDB makes them, while many requests are in flight at once. The tests reach it over HTTP
//! through the same SDK client the Lambdas use (`AWS_ENDPOINT_URL_DYNAMODB`); `campaigns dev`
//! embeds it with its state in a file, so a restart keeps the campaigns.
//!
//! What dynoxide does not do (docs/architecture.md): it never answers
//! `TransactionConflictException` and `ConsistentRead` changes nothing; the tests inject those
//! with `shared::adapters::metrics::FaultInjector`.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A DynamoDB endpoint served from this process. Dropping it stops the server.
pub struct Served {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
}

impl Served {
    /// `http://127.0.0.1:<port>`, for `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, let running requests finish, release the database.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .context("the DynamoDB server task")?
                .map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serve DynamoDB on `addr` (port 0: any free port) from the SQLite file `db`, or from memory
/// when `db` is `None`.
pub async fn serve(addr: SocketAddr, db: Option<&Path>) -> anyhow::Result<Served> {
    let database = match db {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let name = path
                .to_str()
                .with_context(|| format!("{} is not valid UTF-8", path.display()))?;
            dynoxide::Database::new(name)
                .map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?
        }
        None => dynoxide::Database::memory()
            .map_err(|e| anyhow::anyhow!("an in-memory database: {e}"))?,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr().context("the bound address")?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(dynoxide::server::serve_with_shutdown(
        listener,
        database,
        async {
            let _ = stopped.await;
        },
    ));
    Ok(Served {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}
