//! What the Redis store keeps in its local file, not in Redis: the evidence hash chain and the
//! journal of executions in flight. Both are about this machine — the chain protects the
//! response files in this data dir, the journal names processes on this host — and both must
//! be writable while Redis is away. See "Evidence chain" in the [module documentation](super).

use async_trait::async_trait;
use uuid::Uuid;

use super::RedisStore;
use crate::store::{ChainStore, InFlight, InFlightJournal, InFlightRow, StoreError};
use crate::types::chain::{ChainLink, ChainPos};
use crate::types::run::RunOwner;

#[async_trait]
impl ChainStore for RedisStore {
    /// The chain lives in the local file, not in Redis: see "Evidence chain" in the module
    /// documentation.
    async fn chain_append(
        &self,
        execution_id: Uuid,
        response_sha256: &str,
    ) -> Result<ChainLink, StoreError> {
        let hash = response_sha256.to_string();
        // The link and the end of the execution's journal entry in one local transaction:
        // from here on the execution is recorded (its record follows, to Redis or the outbox).
        self.inner
            .outbox
            .with(move |c| {
                let tx = rusqlite::Transaction::new_unchecked(
                    c,
                    rusqlite::TransactionBehavior::Immediate,
                )?;
                let link = crate::store::chain::append_in(&tx, execution_id, &hash)?;
                crate::store::inflight::remove(&tx, execution_id)?;
                tx.commit()?;
                Ok(link)
            })
            .await
    }

    async fn chain_link(&self, pos: ChainPos) -> Result<Option<ChainLink>, StoreError> {
        self.inner
            .outbox
            .with(move |c| crate::store::chain::get(c, pos))
            .await
    }
}

#[async_trait]
impl InFlightJournal for RedisStore {
    async fn inflight_add(&self, entry: &InFlight) -> Result<(), StoreError> {
        let entry = entry.clone();
        self.inner
            .outbox
            .with(move |c| crate::store::inflight::add(c, &entry))
            .await
    }

    async fn inflight_list(&self) -> Result<Vec<InFlightRow>, StoreError> {
        self.inner
            .outbox
            .with(|c| crate::store::inflight::list(c))
            .await
    }

    async fn inflight_get(&self, id: Uuid) -> Result<Option<InFlight>, StoreError> {
        self.inner
            .outbox
            .with(move |c| crate::store::inflight::get(c, id))
            .await
    }

    async fn inflight_claim(
        &self,
        id: Uuid,
        expected: Option<&RunOwner>,
        claimer: &RunOwner,
    ) -> Result<bool, StoreError> {
        let (expected, claimer) = (expected.cloned(), claimer.clone());
        self.inner
            .outbox
            .with(move |c| crate::store::inflight::claim(c, id, expected.as_ref(), &claimer))
            .await
    }

    async fn inflight_remove(&self, id: Uuid) -> Result<(), StoreError> {
        self.inner
            .outbox
            .with(move |c| crate::store::inflight::remove(c, id).map(|_| ()))
            .await
    }
}
