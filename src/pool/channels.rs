//! Each execution's event stream (what monitors, progress notifications and reattaching
//! clients read, from any point) and its control channel (what its worker listens to).

use uuid::Uuid;

use super::{Control, EVENTS_KEPT, Pool, PoolError, STREAM_TTL_SECS};

/// One entry of a stream: its id (to read on after it) and its payload.
pub type StreamEntry = (String, String);

type XreadReply = Option<Vec<(String, Vec<(String, Vec<String>)>)>>;

impl Pool {
    /// Appends an event (JSON) to an execution's stream; returns its stream id.
    pub async fn publish(&self, execution_id: Uuid, event: &str) -> Result<String, PoolError> {
        let key = self.key(&format!("ev:{execution_id}"));
        let mut pipe = redis::pipe();
        pipe.cmd("XADD")
            .arg(&key)
            .arg("MAXLEN")
            .arg("~")
            .arg(EVENTS_KEPT)
            .arg("*")
            .arg("e")
            .arg(event)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(STREAM_TTL_SECS)
            .ignore();
        let mut con = self.conn.clone();
        let (id,): (String,) = pipe.query_async(&mut con).await.map_err(|e| self.err(e))?;
        Ok(id)
    }

    /// The events after stream id `after` (`0`: from the first), at most `count`.
    pub async fn events(
        &self,
        execution_id: Uuid,
        after: &str,
        count: usize,
    ) -> Result<Vec<StreamEntry>, PoolError> {
        self.read(&format!("ev:{execution_id}"), after, count).await
    }

    /// Sends a control request to the worker running an execution.
    pub async fn control(&self, execution_id: Uuid, control: Control) -> Result<(), PoolError> {
        let key = self.key(&format!("ctl:{execution_id}"));
        let mut pipe = redis::pipe();
        pipe.cmd("XADD")
            .arg(&key)
            .arg("*")
            .arg("c")
            .arg(control.as_str())
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(STREAM_TTL_SECS)
            .ignore();
        let mut con = self.conn.clone();
        pipe.query_async::<()>(&mut con)
            .await
            .map_err(|e| self.err(e))
    }

    /// The control requests after stream id `after`, with their ids.
    pub async fn controls(
        &self,
        execution_id: Uuid,
        after: &str,
    ) -> Result<Vec<(String, Control)>, PoolError> {
        let entries = self
            .read(&format!("ctl:{execution_id}"), after, 100)
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|(id, c)| Control::parse(&c).map(|c| (id, c)))
            .collect())
    }

    /// `XREAD` (not blocking) of one stream whose entries have one field each.
    async fn read(
        &self,
        key: &str,
        after: &str,
        count: usize,
    ) -> Result<Vec<StreamEntry>, PoolError> {
        let reply: XreadReply = self
            .query(
                redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(count.max(1))
                    .arg("STREAMS")
                    .arg(self.key(key))
                    .arg(after),
            )
            .await?;
        Ok(reply
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| entries)
            .map(|(id, mut fields)| {
                let value = if fields.len() >= 2 {
                    fields.swap_remove(1)
                } else {
                    String::new()
                };
                (id, value)
            })
            .collect())
    }
}
